/* kefu hosted chat page (/chat/{site}): makes the widget, or fallback.js
   on old browsers, the whole page: open at once, no launcher, no close
   button. Runs before the loader (whose data-channel="page" the widget
   says in its hello). ES3: old browsers run it too. */
(function (w, d) {
  try {
    var k = w.kefu = w.kefu || function () { (w.kefu.q = w.kefu.q || []).push(arguments); };
    var e = d.getElementById('kefu-page');
    var a = function (n) { return (e && e.getAttribute('data-' + n)) || ''; };
    var l = w.location, h = w.history, u, q, keep = [], i, ls = null, p, set, get;
    /* A link the relay mailed resumes its visitor: its id and token go
       where the widget (and fallback.js) keep them, before the loader
       runs, so the chat says hello as that visitor and shows its
       conversation. Another visitor's log and outbox here are dropped. */
    if (a('vid') && a('tok') && a('site')) {
      p = 'kefu:' + a('site') + ':';
      try { ls = w.localStorage; ls.setItem('kefu:probe', '1'); ls.removeItem('kefu:probe'); } catch (x) { ls = null; }
      get = function (n) {
        if (ls) return ls.getItem(p + n);
        var m = d.cookie.match(new RegExp('(?:^|; )' + (p + n).replace(/:/g, '_') + '=([^;]*)'));
        return m ? decodeURIComponent(m[1]) : null;
      };
      set = function (n, v) {
        if (ls) { if (v) ls.setItem(p + n, v); else ls.removeItem(p + n); return; }
        d.cookie = (p + n).replace(/:/g, '_') + '=' + encodeURIComponent(v) + '; path=/; max-age=' + (v ? 31536000 : 0) + '; SameSite=Lax';
      };
      if (get('vid') !== a('vid')) {
        q = ['log', 'cur', 'rd', 'conv', 'out', 'pv'];
        for (i = 0; i < q.length; i++) set(q[i], '');
      }
      set('vid', a('vid'));
      set('tok', a('tok'));
    }
    /* A signed identity the relay checked: presented with the user_hash it
       computed for the uid, as kefu('identify', ...) on any page. */
    if (a('uid') || a('vid')) {
      if (a('uid')) {
        u = { id: a('uid'), user_hash: a('hash') };
        if (a('name')) u.name = a('name');
        if (a('email')) u.email = a('email');
        k('identify', u);
      }
      /* The signed fields (or the resume token) leave the address bar
         (and the page views agents see); other parameters stay. */
      if (h && h.replaceState) {
        q = l.search.replace(/^\?/, '').split('&');
        for (i = 0; i < q.length; i++) if (q[i] && !/^(uid|name|email|ts|sig|resume)=/.test(q[i])) keep.push(q[i]);
        h.replaceState(null, '', l.pathname + (keep.length ? '?' + keep.join('&') : '') + l.hash);
      }
    }
    k('open');
    /* Escape closes the panel on a host page; here there is nothing else. */
    k('on', 'close', function () { w.kefu('open'); });
    /* The wasm widget's panel lives in its open shadow root: the page's
       layout goes in beside the widget's own CSS, as soon as it mounts. */
    var css = '.r{position:static}' +
      '.p{position:fixed;top:49px;left:0;right:0;bottom:0;width:auto;height:auto;max-width:760px;margin:0 auto;border-radius:0;box-shadow:0 0 0 1px #e4e7eb}' +
      '.b,.x,.v{display:none!important}';
    var dress = function () {
      var x = d.getElementsByTagName('kefu-widget')[0], r = x && x.shadowRoot, s;
      if (!r || r.getElementById('kefu-page-css')) return;
      s = d.createElement('style');
      s.id = 'kefu-page-css';
      s.appendChild(d.createTextNode(css));
      r.appendChild(s);
    };
    if (w.MutationObserver) new w.MutationObserver(dress).observe(d.body, { childList: true });
  } catch (x) {}
})(window, document);
