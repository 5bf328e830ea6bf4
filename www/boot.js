// kefu widget boot (ES module, loaded by loader.js on modern browsers):
// starts the wasm widget, replays the snippet's queued calls, and reports
// single-page-app navigation. Never throws into the host page.
import init, { command } from './kefu_widget.js';

const w = window;
const cfg = w.__kefuCfg || {};
init({ module_or_path: new URL('kefu_widget_bg.wasm', import.meta.url) }).then(() => {
  const queued = (w.kefu && w.kefu.q) || [];
  const api = function (name, a, b) {
    try { command(String(name), a, b); } catch (e) { /* never break the host page */ }
  };
  api.mode = 'wasm';
  w.kefu = api;
  api('boot', cfg);
  for (let i = 0; i < queued.length; i++) api(queued[i][0], queued[i][1], queued[i][2]);
  const h = w.history;
  ['pushState', 'replaceState'].forEach(function (m) {
    const orig = h[m];
    h[m] = function () {
      const r = orig.apply(this, arguments);
      setTimeout(function () { api('page'); }, 0);
      return r;
    };
  });
  w.addEventListener('popstate', function () { api('page'); });
}).catch(function () { /* a failed load leaves the host page untouched */ });
