/* kefu loader: picks the wasm widget or the ES3 fallback after the host
   page's load event. Never throws into the host page. */
(function (w, d) {
  try {
    var s = d.currentScript, a, i;
    if (!s) {
      a = d.getElementsByTagName('script');
      for (i = a.length - 1; i >= 0; i--) if (/\/widget\/loader\.js/.test(a[i].src)) { s = a[i]; break; }
    }
    if (!s) return;
    var base = s.src.replace(/\/widget\/loader\.js.*$/, '');
    var cfg = { site: s.getAttribute('data-site'), base: base, lang: s.getAttribute('data-lang'), channel: s.getAttribute('data-channel') || void 0 };
    var forced = s.getAttribute('data-fallback') == '1' || /[?&]kefu_fallback=1/.test(w.location.search);
    var go = function () {
      try {
        var modern = !forced && typeof w.WebAssembly == 'object' && typeof w.WebSocket == 'function';
        var e = d.createElement('script');
        w.__kefuCfg = cfg;
        if (modern) { e.type = 'module'; e.src = base + '/widget/boot.js'; }
        else { e.src = base + '/widget/fallback.js'; }
        e.async = true;
        (d.head || d.documentElement).appendChild(e);
      } catch (x) {}
    };
    if (d.readyState == 'complete') setTimeout(go, 0);
    else if (w.addEventListener) w.addEventListener('load', go, false);
    else if (w.attachEvent) w.attachEvent('onload', go);
  } catch (x) {}
})(window, document);
