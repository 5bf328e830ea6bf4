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
  // The widget's fixed markup (no text: the widget sets every text as
  // text) in an open shadow root under <body>: the host page's CSS stays
  // out, `css` in. Returns the root the widget finds its parts in.
  mount(css) {
    const host = d.createElement('kefu-widget');
    // Inline style beats the host page's selector rules (`* {all:unset}`).
    host.setAttribute('style', 'all:initial;display:block;position:static');
    const s = host.attachShadow({ mode: 'open' });
    const b = '<button type=button class=';
    s.innerHTML = '<style>' + css + '</style><div class=r><div class=p role=dialog hidden>' +
      '<div class=h><div><b></b><small></small></div>' + b + 'x>\u00d7</button></div>' +
      '<div class=g role=log aria-live=polite></div><div class=t hidden></div>' + b + 'q hidden></button>' +
      '<form class=y hidden novalidate></form><form>' + b + 'c><svg viewBox="0 0 24 24" aria-hidden=true width=22 height=22>' +
      '<path d="M9 13V6a3 3 0 0 1 6 0v10a5 5 0 0 1-10 0V8" fill=none stroke=currentColor stroke-width=2 /></svg></button>' +
      '<input type=file multiple hidden><textarea rows=1 maxlength=4000></textarea><button type=submit class=s></button></form></div>' +
      '<div class=v hidden aria-live=polite>' + b + 'w></button>' + b + 'z>\u00d7</button></div>' +
      b + 'b aria-expanded=false><svg viewBox="0 0 24 24" aria-hidden=true><path d="M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4.5 21l3.9-2.1c1.1.3 2.3.5 3.6.5 5.5 0 10-3.8 10-8.5S17.5 3 12 3z"/></svg>' +
      '<span class=n hidden aria-live=polite></span></button></div>';
    d.body.appendChild(host);
    return s.lastChild;
  },
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
  // The visitor's forms (the widget's forms module decides which, and
  // checks the answers): `form` builds `kind` (prechat, offline, rate,
  // mail; '' none) into `box`, from the site's pre-chat form `pc`, the
  // texts `t` and the byte limits `lim` the widget passes; each field is
  // labelled (<label for>) with its error line, stars make a radio group,
  // text goes in as text, never markup. Returns the fields' [key, kind
  // (0 text, 1 email, 2 tel, 3 select, 4 checkbox, 5 text whose label says
  // it is optional), required]. For `offline`, `pc` is true when a name
  // is known already (no name field).
  form(box, kind, pc, t, lim, thumbs) {
    const [optional, name, email, phone, prechat, start, rate, comment, send, transcript] = t;
    const add = (p, tag, cls, text) => {
      const e = p.appendChild(d.createElement(tag));
      e.className = cls || '';
      if (text) e.textContent = text;
      return e;
    };
    const f = [], E = ['email', email, 1, true, [], lim[1]];
    let head = '', button = '', stars = [];
    if (kind == 'prechat') {
      [head, button] = [prechat, start];
      for (const [k, l, n, m] of [['name', name, 0, lim[0]], ['email', email, 1, lim[1]], ['phone', phone, 2, lim[2]]]) {
        if (pc[k] == 'optional' || pc[k] == 'required') f.push([k, l, n, pc[k] == 'required', [], m]);
      }
      for (const c of (pc.fields || []).slice(0, lim[5])) {
        f.push(['x_' + c.key, c.label, c.kind == 'select' ? 3 : c.kind == 'checkbox' ? 4 : 0, !!c.required, c.options || [], lim[3]]);
      }
      if (pc.consent) f.push(['consent', pc.consent, 4, true, [], 0]);
    } else if (kind == 'offline') {
      f.push(E);
      if (!pc) f.push(['name', name, 0, false, [], lim[0]]);
    } else if (kind == 'rate') {
      [head, button] = [rate, send];
      stars = thumbs ? [[5, '\u{1F44D}'], [1, '\u{1F44E}']] : [1, 2, 3, 4, 5].map((n) => [n, '\u2605']);
      f.push(['comment', comment, 5, false, [], lim[4]]);
    } else if (kind == 'mail') {
      f.push(E);
      button = transcript;
    }
    box.textContent = '';
    if (head) add(box, 'p', '', head).id = 'kf-h';
    if (stars.length) {
      const g = add(box, 'div', 'st');
      g.setAttribute('role', 'radiogroup');
      g.setAttribute('aria-labelledby', 'kf-h');
      for (const [n, face] of stars) {
        const b = add(g, 'button', '', face);
        b.type = 'button';
        b.dataset.s = n;
        b.setAttribute('role', 'radio');
        b.setAttribute('aria-checked', 'false');
        b.setAttribute('aria-label', n + '/5');
      }
    }
    for (const [k, label, n, req, options, max] of f) {
      const id = 'kf-' + k, row = n == 4 ? add(box, 'div', 'ck') : box;
      const l = d.createElement('label');
      const i = d.createElement(n == 3 ? 'select' : 'input');
      l.htmlFor = i.id = id;
      l.textContent = req || n > 3 ? label : label + ' ' + optional;
      i.name = k;
      if (n != 3) i.type = ['text', 'email', 'tel', '', 'checkbox', 'text'][n];
      if (n == 1 || k == 'name') i.autocomplete = k;
      if (max && n != 4) i.maxLength = max;
      if (req) i.setAttribute('aria-required', 'true');
      if (n == 3) for (const o of [''].concat(options)) add(i, 'option', '', o).value = o;
      if (n == 4) row.append(i, l); else row.append(l, i);
      const e = add(box, 'small', 'e');
      e.id = id + '-e';
      e.hidden = true;
      i.setAttribute('aria-describedby', e.id);
    }
    if (button) add(box, 'button', 's', button).type = 'submit';
    return f.map(([k, , n, r]) => [k, n, r]);
  },
  // {key: trimmed text, or a checkbox's checked}
  vals(box) {
    const v = {};
    for (const i of box.querySelectorAll('[name]')) v[i.name] = i.type == 'checkbox' ? i.checked : i.value.trim();
    return v;
  },
  // Shows `errs` {key: why} beside their fields, clears the others, and
  // focuses the first field that is wrong.
  bad(box, errs) {
    let first;
    for (const i of box.querySelectorAll('[name]')) {
      const m = errs[i.name], e = box.querySelector('#' + i.id + '-e');
      e.textContent = m || '';
      e.hidden = !m;
      if (m) i.setAttribute('aria-invalid', 'true'); else i.removeAttribute('aria-invalid');
      first = first || (m && i);
    }
    if (first) first.focus();
  },
  // The score chosen: stars fill up to it, a thumb is the one chosen.
  star(box, s, thumbs) {
    for (const b of box.querySelectorAll('[data-s]')) b.setAttribute('aria-checked', thumbs ? b.dataset.s == s : b.dataset.s <= s);
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
