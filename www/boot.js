// kefu widget boot (ES module, loaded by loader.js on modern browsers):
// starts the wasm widget, replays the snippet's queued calls, and reports
// single-page-app navigation. Never throws into the host page.
import init, { command } from './kefu_widget.js';

const w = window;
const d = document;
const cfg = w.__kefuCfg || {};
// Browser effects the widget decides on (a few lines here, several KB as
// wasm bindings): a short beep made in code, the tab title flashing
// `prefix` before the page's own title while the tab is hidden, and a
// message's local time ("14:05", "Yesterday 14:05", "3 Mar 14:05").
let ac, fl;
const fx = {
  beep() {
    try {
      ac = ac || new AudioContext();
      ac.resume();
      const t = ac.currentTime, o = ac.createOscillator(), g = ac.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.2, t);
      g.gain.exponentialRampToValueAtTime(0.001, t + 0.25);
      o.connect(g); g.connect(ac.destination);
      o.start(t); o.stop(t + 0.25);
    } catch (e) { /* no sound is fine */ }
  },
  flash(prefix, ms) {
    if (fl) { clearInterval(fl.i); d.title = fl.t; fl = null; }
    if (!prefix) return;
    const f = fl = { t: d.title, on: false };
    const tick = () => {
      if (!d.hidden) return fx.flash('');
      f.on = !f.on;
      d.title = f.on ? prefix + f.t : f.t;
    };
    f.i = setInterval(tick, ms);
    tick();
  },
  when(ts, lang, yesterday) {
    const t = new Date(ts), n = new Date(), day = (x) => x.toDateString();
    const c = t.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false });
    if (day(t) == day(n)) return c;
    const y = new Date(n.getTime() - 864e5);
    if (day(t) == day(y)) return yesterday + ' ' + c;
    const o = { month: 'short', day: 'numeric' };
    if (t.getFullYear() != n.getFullYear()) o.year = 'numeric';
    return t.toLocaleDateString(lang, o) + ' ' + c;
  },
};
init({ module_or_path: new URL('kefu_widget_bg.wasm', import.meta.url) }).then(() => {
  const queued = (w.kefu && w.kefu.q) || [];
  const api = function (name, a, b) {
    try { command(String(name), a, b); } catch (e) { /* never break the host page */ }
  };
  api.mode = 'wasm';
  w.kefu = api;
  api('boot', Object.assign({ fx }, cfg));
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
