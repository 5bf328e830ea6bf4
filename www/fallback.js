/* kefu fallback widget: plain ECMAScript 3 for browsers without WebSocket
   or WebAssembly (IE8+, old Android, locked-down desktops). Long-poll over
   CORS XHR, or XDomainRequest on IE8/9. Same guarantees as the wasm widget:
   a cid on every send, resend until acked, cursor-based resume, outbox in
   localStorage (cookie fallback for ids). Never throws into the host page. */
(function (w, d) {
  /* Client timing (ms), the same values as protocol/src/timing.rs: a Rust
     test (widget/tests/fallback_js.rs) fails when one drifts. */
  var TIMING = {
    reconnect_first_ms: 500,
    reconnect_max_ms: 30000,
    reconnect_min_ms: 100,
    reconnect_max_doublings: 16,
    visitor_typing_idle_ms: 3000,
    visitor_typing_repeat_ms: 4000,
    draft_every_ms: 800,
    agent_typing_shown_ms: 6000,
    title_flash_ms: 1200,
    refused_retry_ms: 300000,
    longpoll_client_timeout_ms: 40000
  };
  var cfg = w.__kefuCfg || {};
  if (!cfg.site || !cfg.base || w.__kefuFallback) return;
  w.__kefuFallback = 1;

  var BASE = cfg.base, SITE = cfg.site;
  var LOG_KEEP = 200, MAX_TEXT = 4096;
  /* Form limits (bytes), the same values as protocol/src/limits.rs: the
     Rust test (widget/tests/fallback_js.rs) fails when one drifts. */
  var LIMITS = {
    max_name_bytes: 128,
    max_email_bytes: 254,
    max_phone_bytes: 32,
    max_form_value_bytes: 512,
    max_rating_comment_bytes: 1024,
    max_form_fields: 5
  };

  /* ---- small ES3 helpers (IE8 has no forEach/indexOf/keys/trim/Date.now) */
  function now() { return new Date().getTime(); }
  function trim(s) { return String(s).replace(/^\s+|\s+$/g, ''); }
  function each(a, f) { for (var i = 0; i < a.length; i++) f(a[i], i); }
  function rnd() { return Math.random().toString(36).substring(2, 8); }
  function newId(p) { return p + now().toString(36) + rnd() + rnd(); }
  function on(el, ev, f) {
    if (el.addEventListener) el.addEventListener(ev, f, false);
    else if (el.attachEvent) el.attachEvent('on' + ev, f);
  }
  function warn(s) { try { if (w.console && w.console.warn) w.console.warn(s); } catch (e) {} }
  function later(f, ms) { return setTimeout(function () { try { f(); } catch (e) {} }, ms); }

  /* JSON: native where present (IE8 standards mode has it); else a small
     encoder, and the relay's own answers evaluated as script. */
  var J = w.JSON;
  function esc(s) {
    return '"' + String(s).replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
      var h = c.charCodeAt(0).toString(16);
      return c == '"' ? '\\"' : c == '\\' ? '\\\\' : '\\u' + '0000'.substring(h.length) + h;
    }) + '"';
  }
  function enc(v) {
    if (J && J.stringify) return J.stringify(v);
    var t = typeof v, out = [], k;
    if (v === null || v === undefined) return 'null';
    if (t == 'number' || t == 'boolean') return String(v);
    if (t == 'string') return esc(v);
    if (Object.prototype.toString.call(v) == '[object Array]') {
      each(v, function (x) { out.push(enc(x)); });
      return '[' + out.join(',') + ']';
    }
    for (k in v) if (Object.prototype.hasOwnProperty.call(v, k) && v[k] !== undefined) out.push(esc(k) + ':' + enc(v[k]));
    return '{' + out.join(',') + '}';
  }
  function dec(s) {
    /* not a direct eval: that would keep the minifier from renaming */
    try { return J && J.parse ? J.parse(s) : new Function('return (' + s + ')')(); } catch (e) { return null; }
  }

  /* ---- storage: localStorage, cookie fallback for small keys ---------- */
  var ls = null;
  try { ls = w.localStorage; ls.setItem('kefu:probe', '1'); ls.removeItem('kefu:probe'); } catch (e) { ls = null; }
  function key(k) { return 'kefu:' + SITE + ':' + k; }
  function load(k) {
    if (ls) { try { return ls.getItem(key(k)); } catch (e) { return null; } }
    var m = d.cookie.match(new RegExp('(?:^|; )' + key(k).replace(/:/g, '_') + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function save(k, v) {
    if (ls) { try { ls.setItem(key(k), v); } catch (e) {} return; }
    if (v.length < 512) d.cookie = key(k).replace(/:/g, '_') + '=' + encodeURIComponent(v) + '; path=/; max-age=31536000';
  }

  /* ---- texts ----------------------------------------------------------- */
  var EN = { title: 'Chat with us', greeting: 'Hi! How can we help you today?',
    offline: "We're away right now. Leave a message and we'll reply here (or by email if you gave us one) as soon as we're back.",
    placeholder: 'Write a message…', send: 'Send', sending: 'Sending…', sent: 'Sent', read: 'Read',
    typing: 'is typing…', agent: 'Support', open: 'Open chat', close: 'Close chat', online: "We're online",
    away: "We're away — leave a message", reconnecting: 'Reconnecting…',
    attach: 'Attach a file', uploading: 'Uploading…', oldBrowser: 'Sending files needs a newer browser; you can still receive them here.',
    upFailed: 'could not be sent', newMessage: 'New message', closed: 'This chat was closed',
    unavailable: 'Chat unavailable', yesterday: 'Yesterday', dismiss: 'Dismiss',
    queuePre: 'You are number ', queuePost: ' in line',
    offlineNomail: "We're away right now. Leave a message and we'll reply here as soon as we're back.",
    name: 'Name', email: 'Email', phone: 'Phone', optional: '(optional)', required: 'Please fill this in',
    badEmail: 'Please enter a valid email address', prechat: 'Tell us a little about yourself to start the chat.',
    start: 'Start chat', leave: 'Leave a message', willEmail: "We'll reply by email to ",
    rate: 'How was this chat?', comment: 'Add a comment (optional)', thanks: 'Thanks for your feedback!',
    transcript: 'Email me this chat', mailed: "We've emailed you this chat." };
  var ZH = { title: '在线客服', greeting: '您好！有什么可以帮您？',
    offline: '我们暂时不在线。请留言，我们回来后会在这里（或通过您留下的邮箱）回复您。',
    placeholder: '输入消息…', send: '发送', sending: '发送中…', sent: '已发送', read: '已读',
    typing: '正在输入…', agent: '客服', open: '打开聊天', close: '关闭聊天', online: '客服在线',
    away: '客服不在线，请留言', reconnecting: '正在重新连接…',
    attach: '添加附件', uploading: '上传中…', oldBrowser: '发送文件需要更新的浏览器；您仍可在这里接收文件。',
    upFailed: '发送失败', newMessage: '新消息', closed: '本次对话已结束',
    unavailable: '聊天暂不可用', yesterday: '昨天', dismiss: '关闭',
    queuePre: '排队中：您是第 ', queuePost: ' 位',
    offlineNomail: '我们暂时不在线。请留言，我们回来后会在这里回复您。',
    name: '姓名', email: '邮箱', phone: '电话', optional: '（选填）', required: '请填写此项',
    badEmail: '请输入有效的邮箱地址', prechat: '开始对话前，请简单介绍一下您自己。',
    start: '开始对话', leave: '留言', willEmail: '我们会通过邮件回复到 ',
    rate: '您对本次对话满意吗？', comment: '补充评价（选填）', thanks: '感谢您的评价！',
    transcript: '将聊天记录发到我的邮箱', mailed: '聊天记录已发送到您的邮箱。' };
  function pick(lang) { return /^zh/i.test(lang || '') ? ZH : EN; }
  /* the page's data-lang, else the browser's: sent in hello, the relay
     answers in the site's language or this one */
  var LANG = cfg.lang || (w.navigator && (w.navigator.language || w.navigator.userLanguage)) || '';
  var T = pick(LANG);

  /* ---- state ----------------------------------------------------------- */
  var S = {
    vid: load('vid'), token: load('tok') || null, sid: null, ack: 0, conv: load('conv'),
    cursors: dec(load('cur') || '{}') || {}, msgs: dec(load('log') || '[]') || [],
    outbox: dec(load('out') || '[]') || [], connected: false, agentsOnline: false,
    agentRead: 0, open: false, user: null, ready: false, handlers: [],
    greeting: '', offlineText: '', attempts: 0, polling: false, sending: false, gen: 0,
    /* the visitor's read marks {conv: seq}; the preview dismissed; the
       relay refused this page's origin (times); the tab title flashing */
    read: dec(load('rd') || '{}') || {}, dismissed: load('pv') || '', refused: 0,
    told: 0, interacted: false, flash: null,
    /* kefu('set', {team}); the conversation waiting for an agent, its place */
    team: null, qConv: '', qPos: 0,
    /* the relay sends mail; knows the visitor's name or email; knows an
       email; the site's pre-chat form and rating scale; the address given;
       ratings {conv: score}; the form shown, for which conversation, the
       score chosen; "Email me this chat" waiting for an address */
    mail: false, known: false, emailKnown: false, prechat: null, rating: '', email: load('em') || '',
    rated: dec(load('rt') || '{}') || {}, form: '', formConv: '', score: 0, askMail: false
  };
  if (!S.vid) { S.vid = newId('v'); save('vid', S.vid); }
  each(S.outbox, function (o) {
    var found = !!o.frame;
    each(S.msgs, function (m) { if (m.cid == o.cid) found = true; });
    if (!found) S.msgs.push({ conv: '', seq: 0, cid: o.cid, mine: true, name: '', text: o.text, file: o.file });
  });

  function persist() {
    var keep = [], start = Math.max(0, S.msgs.length - LOG_KEEP), i;
    for (i = start; i < S.msgs.length; i++) if (S.msgs[i].seq > 0) keep.push(S.msgs[i]);
    save('log', enc(keep));
    save('out', enc(S.outbox));
    save('cur', enc(S.cursors));
    save('rd', enc(S.read));
    save('rt', enc(S.rated));
    if (S.conv) save('conv', S.conv);
  }

  /* Unread: every agent message above the visitor's read mark. */
  function unreadList() {
    var out = [];
    each(S.msgs, function (m) { if (!m.mine && !m.sys && !m.closed && m.seq > (S.read[m.conv] || 0)) out.push(m); });
    return out;
  }

  function emit(ev, arg) {
    each(S.handlers, function (h) {
      if (h[0] == ev) later(function () { h[1](arg); }, 0);
    });
  }

  /* ---- HTTP: CORS XHR, else XDomainRequest (IE8/9) --------------------- */
  var cors = w.XMLHttpRequest && 'withCredentials' in new w.XMLHttpRequest();
  function http(method, url, body, done) {
    var x, fired = false;
    function finish(ok, text) { if (fired) return; fired = true; done(ok, text); }
    try {
      if (cors) {
        x = new w.XMLHttpRequest();
        x.open(method, url, true);
        if (body !== null) x.setRequestHeader('Content-Type', 'text/plain');
        x.onreadystatechange = function () {
          if (x.readyState == 4) finish(x.status > 0, x.responseText ? String(x.status) + '\n' + x.responseText : String(x.status));
        };
      } else if (w.XDomainRequest) {
        x = new w.XDomainRequest();
        x.open(method, url);
        x.onload = function () { finish(true, '200\n' + x.responseText); };
        x.onerror = function () { finish(false, ''); };
        x.ontimeout = function () { finish(false, ''); };
        x.onprogress = function () {};
        x.timeout = TIMING.longpoll_client_timeout_ms;
      } else { return later(function () { done(false, ''); }, 0); }
      x.send(body);
    } catch (e) { later(function () { finish(false, ''); }, 0); }
  }
  /* "status\nbody" → [status, parsed] */
  function split(text) {
    var i = text.indexOf('\n');
    return i < 0 ? [parseInt(text, 10), null] : [parseInt(text.substring(0, i), 10), dec(text.substring(i + 1))];
  }

  function post(frames, done) {
    var url = BASE + '/v1/send' + (S.sid ? '?sid=' + encodeURIComponent(S.sid) : '');
    http('POST', url, enc(frames), function (ok, text) {
      var r = ok ? split(text) : [0, null];
      done(r[0], r[1]);
    });
  }

  /* ---- session ------------------------------------------------------- */
  function hello() {
    var h = { type: 'hello', v: 1, role: 'visitor', site: SITE, visitor: S.vid, cursors: S.cursors };
    if (S.token) h.token = S.token;
    if (S.user) h.user = S.user;
    if (S.team) h.team = S.team;
    if (cfg.channel) h.channel = cfg.channel;
    if (LANG) h.lang = LANG;
    var gen = ++S.gen;
    S.sid = null;
    post([h], function (status, body) {
      if (gen != S.gen) return;
      if (status == 200 && body && body.sid) {
        S.sid = body.sid; S.ack = 0;
        each(body.frames || [], frame);
        if (S.connected) {
          poll(gen); flush(); page();
          /* a team set while this hello was on its way */
          if (S.team != h.team) cast([{ type: 'team', team: S.team }]);
        }
      } else if (status == 200 && body) {
        each(body.frames || [], frame);
        if (!S.refused) retry();
      } else retry();
    });
  }

  function retry() {
    S.connected = false;
    render();
    var cap = Math.min(TIMING.reconnect_max_ms,
      TIMING.reconnect_first_ms * Math.pow(2, Math.min(S.attempts, TIMING.reconnect_max_doublings)));
    S.attempts++;
    var gen = ++S.gen;
    later(function () { if (gen == S.gen) hello(); }, Math.max(TIMING.reconnect_min_ms, Math.random() * cap));
  }

  function poll(gen) {
    if (gen != S.gen || !S.sid) return;
    http('GET', BASE + '/v1/poll?sid=' + encodeURIComponent(S.sid) + '&ack=' + S.ack + '&_=' + now(), null, function (ok, text) {
      if (gen != S.gen) return;
      var r = ok ? split(text) : [0, null];
      if (r[0] == 200 && r[1]) {
        if (r[1].next > S.ack) S.ack = r[1].next;
        each(r[1].frames || [], frame);
        poll(gen);
      } else if (r[0] == 404) { hello(); }
      else retry();
    });
  }

  /* Sends every unacked message (again): the relay stores each cid once. */
  function flush() {
    if (!S.connected || S.sending || !S.outbox.length) return;
    var frames = [];
    each(S.outbox, function (o) {
      /* a form answer or a rating goes as the frame it is */
      if (o.frame) return frames.push(o.frame);
      var f = { type: 'send', cid: o.cid, text: o.text };
      if (S.conv) f.conv = S.conv;
      if (o.file) f.file = o.file.id;
      frames.push(f);
    });
    S.sending = true;
    post(frames.slice(0, 32), function (status, body) {
      S.sending = false;
      if (status == 200 && body) { each(body.frames || [], frame); if (S.outbox.length) later(flush, 50); }
      else if (status == 404) hello();
      else retry();
    });
  }

  function cast(frames) { if (S.connected) post(frames, function (st, b) { if (st == 200 && b) each(b.frames || [], frame); }); }

  function page() {
    var f = { type: 'page', url: String(w.location.href), title: String(d.title || '').substring(0, 500) };
    if (d.referrer) f.referrer = d.referrer;
    cast([f]);
  }

  /* ---- frames ----------------------------------------------------------- */
  function findMsg(cid) {
    for (var i = 0; i < S.msgs.length; i++) if (S.msgs[i].cid == cid) return S.msgs[i];
    return null;
  }
  /* Into the log at its place: a conversation's stored messages in seq
     order (as every screen shows them), then the unsent ones (seq 0). */
  function place(m) {
    var i = S.msgs.length, j, x;
    if (m.seq > 0) {
      for (j = 0; j < S.msgs.length; j++) {
        x = S.msgs[j];
        if (x.seq == 0 || (x.conv == m.conv && x.seq > m.seq)) { i = j; break; }
      }
    }
    S.msgs.splice(i, 0, m);
  }
  /* Our message cid is stored at seq: it moves to its seq place. */
  function stored(cid, conv, seq) {
    var m = findMsg(cid), keep = [];
    if (!m) return null;
    each(S.msgs, function (x) { if (x !== m) keep.push(x); });
    S.msgs = keep; m.seq = seq; m.conv = conv; place(m);
    return m;
  }
  function dropOut(cid) {
    var keep = [];
    each(S.outbox, function (o) { if (o.cid != cid) keep.push(o); });
    S.outbox = keep;
  }

  function frame(f) {
    if (!f || !f.type) return;
    var m, st;
    if (f.type == 'welcome') {
      S.connected = true; S.attempts = 0; S.refused = 0;
      if (f.token) { S.token = f.token; save('tok', f.token); }
      S.agentsOnline = !!f.agents_online;
      S.mail = !!f.mail; S.known = !!f.known; S.emailKnown = !!f.email_known;
      /* the relay sends the place in line after welcome */
      S.qPos = 0;
      st = f.settings;
      if (st) {
        if (st.language) T = pick(st.language);
        S.greeting = st.greeting || ''; S.offlineText = st.offline_message || '';
        S.draft = !!st.draft_preview;
        S.prechat = st.prechat || null; S.rating = st.rating || '';
        style(st.color, st.position == 'left');
      }
      if (st) S.openOnMessage = st.on_agent_message == 'open';
      each(f.convs || [], function (c) {
        if (c.open || !S.conv) S.conv = c.id;
        if (c.agent_read > S.agentRead) S.agentRead = c.agent_read;
        var mine = S.read[c.id] || 0;
        if (mine > c.visitor_read) later(function () { cast([{ type: 'read', conv: c.id, seq: mine }]); }, 0);
        else S.read[c.id] = c.visitor_read;
      });
      render();
      if (!S.ready) { S.ready = true; emit('ready'); }
    } else if (f.type == 'ack') {
      dropOut(f.cid);
      m = stored(f.cid, f.conv, f.seq);
      if (m) m.ts = m.ts || now();
      S.conv = f.conv;
      persist(); render();
    } else if (f.type == 'event') {
      if (f.seq <= (S.cursors[f.conv] || 0)) return;
      S.cursors[f.conv] = f.seq;
      /* an agent wrote, or it closed: no longer waiting */
      if (f.conv == S.qConv && (f.kind == 'closed' || (f.kind == 'message' && f.from && f.from.side == 'agent'))) S.qPos = 0;
      /* a close asks for a rating only when an agent closed it */
      if (f.kind == 'closed') place({ conv: f.conv, seq: f.seq, ts: f.ts, closed: true, mine: !(f.by && f.by.side == 'agent') });
      /* the site's answer outside business hours: a line from the site */
      if (f.kind == 'auto_reply') place({ conv: f.conv, seq: f.seq, ts: f.ts, sys: true, text: f.text });
      if (f.kind == 'rated' && f.score) S.rated[f.conv] = f.score;
      if (f.kind == 'message') {
        var mine = f.from && f.from.side == 'visitor';
        S.conv = f.conv;
        m = mine ? stored(f.cid, f.conv, f.seq) : null;
        if (m) { m.ts = f.ts; dropOut(f.cid); }
        else {
          place({ conv: f.conv, seq: f.seq, ts: f.ts, cid: f.cid, mine: mine, name: (f.from && f.from.name) || '', text: f.text, file: f.file });
          if (!mine) {
            emit('message', { text: f.text, from: (f.from && f.from.name) || '', seq: f.seq });
            showTyping(false);
            arrived();
          }
        }
      }
      persist(); render();
    } else if (f.type == 'read') {
      if (f.side == 'agent' && f.seq > S.agentRead) S.agentRead = f.seq;
      if (f.side == 'visitor' && f.seq > (S.read[f.conv] || 0)) { S.read[f.conv] = f.seq; persist(); }
      render();
    } else if (f.type == 'typing') {
      if (f.side == 'agent') showTyping(f.on, f.name);
    } else if (f.type == 'saved') {
      dropOut(f.cid); persist();
    } else if (f.type == 'mailed') {
      notice(T.mailed);
    } else if (f.type == 'agents') {
      S.agentsOnline = !!f.online; render();
    } else if (f.type == 'queue') {
      S.qConv = f.conv; S.qPos = f.position || 0; render();
    } else if (f.type == 'error') {
      if (f.code == 'origin_not_allowed') refused();
      else if (f.code == 'token_required' || f.code == 'bad_token') {
        S.vid = newId('v'); S.token = null; S.cursors = {}; save('vid', S.vid); save('tok', '');
      } else if (f.cid && (f.code == 'too_large' || f.code == 'bad_frame' || f.code == 'bad_request' || f.code == 'forbidden' || f.code == 'unknown_conversation' || f.code == 'not_found' || f.code == 'blocked')) {
        dropOut(f.cid);
        var keep = [];
        each(S.msgs, function (x) { if (x.cid != f.cid || x.seq > 0) keep.push(x); });
        S.msgs = keep; persist(); render();
      }
    }
  }

  /* Every agent message shown is read: the marks rise, the relay hears. */
  function readAll() {
    var top = {}, k, out = [];
    each(unreadList(), function (m) { if (m.seq > (top[m.conv] || 0)) top[m.conv] = m.seq; });
    for (k in top) if (top.hasOwnProperty(k)) { S.read[k] = top[k]; out.push({ type: 'read', conv: k, seq: top[k] }); }
    if (out.length) { cast(out); persist(); }
  }

  function hidden() { return !!d.hidden; }

  /* A new agent message: read at once if the panel is open and visible;
     else a beep (after a user interaction), the title flash in a hidden
     tab, and the panel opens if the site chose that. */
  function arrived() {
    if (S.open && !hidden()) return readAll();
    if (S.interacted) beep();
    if (hidden()) flash(unreadList().length);
    if (!S.open && S.openOnMessage) setOpen(true);
  }

  var audio = null, lastBeep = 0;
  function beep() {
    var AC = w.AudioContext, t, o, g;
    if (!AC || now() - lastBeep < 2000) return;
    lastBeep = now();
    try {
      audio = audio || new AC();
      if (audio.resume) audio.resume();
      t = audio.currentTime; o = audio.createOscillator(); g = audio.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.2, t);
      g.gain.exponentialRampToValueAtTime(0.001, t + 0.25);
      o.connect(g); g.connect(audio.destination);
      o.start(t); o.stop(t + 0.25);
    } catch (e) {}
  }

  /* "(N) New message — title", alternating with the page's own title,
     until the tab is visible again; n 0 restores it. */
  function flash(n) {
    var f = S.flash;
    if (f) { clearInterval(f.i); d.title = f.t; S.flash = null; }
    if (!n) return;
    f = S.flash = { t: d.title, on: false, n: n };
    function tick() {
      if (!hidden()) return flash(0);
      f.on = !f.on;
      d.title = f.on ? '(' + n + ') ' + T.newMessage + ' \u2014 ' + f.t : f.t;
    }
    f.i = setInterval(tick, TIMING.title_flash_ms);
    tick();
  }

  /* The relay refused this page's origin: once in the page's console,
     "Chat unavailable", one more try after TIMING.refused_retry_ms. */
  function refused() {
    S.refused++;
    S.connected = false;
    if (S.refused == 1) {
      warn('kefu: the chat is unavailable on this page: its origin ' +
        (w.location.protocol + '//' + w.location.host) + ' is not allowed for site "' + SITE +
        '". Add it under "Allowed origins" in the site\'s settings of the kefu console (' + BASE + '/console/).');
      var gen = ++S.gen;
      later(function () { if (gen == S.gen) hello(); }, TIMING.refused_retry_ms);
    }
    render();
  }

  /* "14:05" today, "Yesterday 14:05", "03-05 14:05", "2025-03-05 14:05". */
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function when(ts) {
    if (!ts) return '';
    var t = new Date(ts), n = new Date(), c = pad(t.getHours()) + ':' + pad(t.getMinutes());
    if (t.toDateString() == n.toDateString()) return c;
    if (t.toDateString() == new Date(n.getTime() - 864e5).toDateString()) return T.yesterday + ' ' + c;
    return (t.getFullYear() != n.getFullYear() ? t.getFullYear() + '-' : '') + pad(t.getMonth() + 1) + '-' + pad(t.getDate()) + ' ' + c;
  }

  /* ---- actions --------------------------------------------------------- */
  function send(text) {
    text = trim(text);
    if (!text || text.length > MAX_TEXT) return;
    var cid = newId('f');
    S.outbox.push({ cid: cid, text: text });
    S.msgs.push({ conv: '', seq: 0, cid: cid, mine: true, name: '', text: text });
    persist(); render();
    stopTyping();
    flush();
  }

  /* Attachments: XHR2 browsers (IE10+) upload the File as the body; IE8/9
     have no File API, so they get a note instead (they still receive). */
  var canUpload = !!(cors && w.FormData && w.File);
  function creds() {
    return '?site=' + encodeURIComponent(SITE) + '&visitor=' + encodeURIComponent(S.vid) + '&token=' + encodeURIComponent(S.token || '');
  }
  function fileUrl(f, thumb) { return BASE + '/v1/files/' + encodeURIComponent(f.id) + (thumb ? '/thumb' : '') + creds(); }
  function notice(s) { S.msgs.push({ conv: '', seq: 0, cid: '', mine: false, name: '', text: s, sys: true }); render(); }
  function upload(file, tries) {
    var cid = newId('f'), m = { conv: '', seq: 0, cid: cid, mine: true, name: '', text: file.name, up: true };
    S.msgs.push(m); render();
    (function go(n) {
      var x = new w.XMLHttpRequest();
      x.open('POST', BASE + '/v1/files' + creds() + '&name=' + encodeURIComponent(file.name), true);
      x.onreadystatechange = function () {
        if (x.readyState != 4) return;
        var body = dec(x.responseText || '') || {};
        if (x.status == 200 || x.status == 201) {
          m.up = false; m.text = ''; m.file = body;
          S.outbox.push({ cid: cid, text: '', file: body });
          persist(); render(); flush();
        } else if ((x.status == 0 || x.status == 401 || x.status == 429 || x.status >= 500) && n < tries) {
          later(function () { go(n + 1); }, 1000 * Math.pow(2, n));
        } else {
          var keep = [];
          each(S.msgs, function (y) { if (y !== m) keep.push(y); });
          S.msgs = keep;
          notice(file.name + ' ' + (body.message || T.upFailed));
        }
      };
      x.send(file);
    })(1);
  }

  var typingTimer = null, typingAt = 0, draftTimer = null;
  // "on" again every few seconds of typing (agents expire a notice whose
  // "off" never comes); with the site's draft preview on, with the text,
  // <1/s, and the latest text once more after a throttled keystroke.
  function typingOn() {
    var f = { type: 'typing', conv: S.conv, on: true };
    typingAt = +new Date();
    if (S.draft) f.text = V.input.value.substring(0, 1000);
    cast([f]);
  }
  function typing() {
    var now = +new Date();
    var every = S.draft ? TIMING.draft_every_ms : TIMING.visitor_typing_repeat_ms;
    if (S.conv && (!typingTimer || now - typingAt >= every)) typingOn();
    else if (S.conv && S.draft && !draftTimer) {
      draftTimer = later(function () { draftTimer = null; if (typingTimer) typingOn(); }, every - (now - typingAt));
    }
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = later(stopTyping, TIMING.visitor_typing_idle_ms);
  }
  function stopTyping() {
    if (!typingTimer) return;
    clearTimeout(typingTimer); typingTimer = null;
    if (S.conv) cast([{ type: 'typing', conv: S.conv, on: false }]);
  }

  function setOpen(open, quiet) {
    if (S.open == open) return;
    S.open = open;
    save('open', open ? '1' : '');
    if (open && !hidden()) readAll();
    render();
    if (open && !quiet) { try { V.input.focus(); } catch (e) {} }
    emit(open ? 'open' : 'close');
  }

  /* ---- view (no Shadow DOM in old browsers: prefixed classes, reset) ---- */
  var CSS = '#kefu-fb,#kefu-fb *{margin:0;padding:0;border:0;text-decoration:none;font:15px/1.4 Arial,"Microsoft YaHei",sans-serif;color:#1f2933;text-align:left;box-sizing:border-box;float:none;text-transform:none;letter-spacing:0}' +
    '#kefu-fb{position:fixed;bottom:20px;right:20px;z-index:2147483647}' +
    '#kefu-fb.kefu-l{right:auto;left:20px}' +
    '#kefu-fb .kefu-b{display:block;width:58px;height:58px;background:#0b6e4f;color:#fff;font-size:26px;text-align:center;cursor:pointer;border-radius:29px;position:relative}' +
    '#kefu-fb .kefu-n{position:absolute;top:-4px;right:-4px;background:#d64545;color:#fff;font-size:12px;font-weight:bold;padding:2px 7px;border-radius:11px}' +
    '#kefu-fb .kefu-p{position:absolute;bottom:72px;right:0;width:340px;background:#fff;border:1px solid #cbd2d9;border-radius:12px;overflow:hidden}' +
    '#kefu-fb.kefu-l .kefu-p{right:auto;left:0}' +
    '#kefu-fb .kefu-h{background:#0b6e4f;padding:12px 14px;color:#fff}' +
    '#kefu-fb .kefu-h b,#kefu-fb .kefu-h span,#kefu-fb .kefu-x{color:#fff}' +
    '#kefu-fb .kefu-h b{display:block;font-weight:bold;font-size:16px}' +
    '#kefu-fb .kefu-h span{font-size:12px}' +
    '#kefu-fb .kefu-x{position:absolute;top:8px;right:10px;background:transparent;font-size:22px;cursor:pointer}' +
    '#kefu-fb .kefu-g{height:320px;overflow-y:auto;padding:10px;background:#f5f7fa}' +
    '#kefu-fb .kefu-m{margin:0 0 8px 0;padding:7px 11px;background:#fff;border-radius:10px;width:80%;white-space:pre-wrap;word-wrap:break-word}' +
    '#kefu-fb .kefu-me{margin-left:20%;background:#0b6e4f}' +
    '#kefu-fb .kefu-me,#kefu-fb .kefu-me i{color:#fff}' +
    '#kefu-fb .kefu-sys{background:#fff8e1;font-size:13px;width:100%}' +
    '#kefu-fb .kefu-m i,#kefu-fb .kefu-m u,#kefu-fb .kefu-m s{display:block;font-style:normal;text-decoration:none;font-size:11px}' +
    '#kefu-fb .kefu-me s{color:#fff}' +
    '#kefu-fb .kefu-v{position:absolute;bottom:72px;right:0;width:280px;background:#fff;border:1px solid #cbd2d9;border-radius:12px;padding:10px 30px 10px 12px}' +
    '#kefu-fb.kefu-l .kefu-v{right:auto;left:0}' +
    '#kefu-fb .kefu-w{display:block;cursor:pointer;font-size:14px}#kefu-fb .kefu-w b{display:block;font-weight:bold;font-size:13px}' +
    '#kefu-fb .kefu-z{position:absolute;top:4px;right:8px;font-size:18px;cursor:pointer}' +
    '#kefu-fb .kefu-m u{font-weight:bold}' +
    '#kefu-fb .kefu-t{padding:3px 12px;font-size:12px;background:#f5f7fa}' +
    '#kefu-fb .kefu-f{padding:8px;border-top:1px solid #e4e7eb;background:#fff}' +
    '#kefu-fb textarea{width:100%;height:44px;border:1px solid #cbd2d9;padding:6px;border-radius:8px;background:#fff}' +
    '#kefu-fb .kefu-a{float:right;margin-top:10px;cursor:pointer;font-size:13px;text-decoration:underline}' +
    '#kefu-fb .kefu-m a{display:block;text-decoration:underline;color:inherit}#kefu-fb .kefu-m img{display:block;max-width:100%;border-radius:6px}' +
    '#kefu-fb .kefu-s{margin-top:6px;background:#0b6e4f;color:#fff;padding:6px 14px;cursor:pointer;border-radius:8px;font-weight:bold}' +
    '#kefu-fb .kefu-y{padding:8px 10px;border-top:1px solid #e4e7eb;background:#fff;max-height:260px;overflow-y:auto}' +
    '#kefu-fb .kefu-y p,#kefu-fb .kefu-y label{display:block;font-size:13px;margin:4px 0 2px}#kefu-fb .kefu-y label{font-weight:bold}' +
    '#kefu-fb .kefu-y input,#kefu-fb .kefu-y select{width:100%;border:1px solid #cbd2d9;padding:5px;border-radius:6px;background:#fff}' +
    '#kefu-fb .kefu-y .kefu-ck input{width:auto;margin:0 6px 0 0}#kefu-fb .kefu-ck label{display:inline;font-weight:normal}' +
    '#kefu-fb .kefu-e{display:block;color:#b42318;font-size:12px}#kefu-fb .kefu-st a{display:inline-block;width:18%;margin-right:2%;text-align:center;font-size:22px;color:#9aa5b1;border:1px solid #cbd2d9;border-radius:6px;cursor:pointer}' +
    '#kefu-fb .kefu-st a.kefu-on{color:#f5a623;border-color:#f5a623}' +
    '#kefu-fb .kefu-q{display:block;padding:2px 12px 4px;font-size:12px;text-decoration:underline;background:#f5f7fa;cursor:pointer}' +
    '@media (max-width:480px){#kefu-fb .kefu-p{position:fixed;top:0;left:0;right:0;bottom:0;width:auto;border-radius:0}#kefu-fb .kefu-g{height:auto;position:absolute;top:64px;bottom:110px;left:0;right:0}#kefu-fb .kefu-f{position:absolute;bottom:0;left:0;right:0}}';

  var V = {};
  function el(tag, cls, parent) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(e, s) {
    while (e.firstChild) e.removeChild(e.firstChild);
    e.appendChild(d.createTextNode(s));
  }
  function show(e, yes) { e.style.display = yes ? '' : 'none'; }
  function style(color, left) {
    var c = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(color || '') ? color : '#0b6e4f';
    V.root.className = left ? 'kefu-l' : '';
    V.launch.style.backgroundColor = c; V.head.style.backgroundColor = c; V.send.style.backgroundColor = c;
    V.color = c;
  }

  function mount() {
    var st = el('style');
    st.setAttribute('type', 'text/css');
    if (st.styleSheet) st.styleSheet.cssText = CSS; else st.appendChild(d.createTextNode(CSS));
    (d.getElementsByTagName('head')[0] || d.documentElement).appendChild(st);
    V.root = el('div', '', d.body); V.root.id = 'kefu-fb';
    V.panel = el('div', 'kefu-p', V.root); V.panel.setAttribute('role', 'dialog'); show(V.panel, false);
    V.head = el('div', 'kefu-h', V.panel);
    V.title = el('b', '', V.head); V.status = el('span', '', V.head);
    V.close = el('a', 'kefu-x', V.head); V.close.href = 'javascript:void 0'; text(V.close, '×');
    V.log = el('div', 'kefu-g', V.panel); V.log.setAttribute('role', 'log');
    V.typing = el('div', 'kefu-t', V.panel); show(V.typing, false);
    V.mail = el('a', 'kefu-q', V.panel); V.mail.href = 'javascript:void 0'; show(V.mail, false);
    on(V.mail, 'click', function (e) { cancel(e); askMail(); });
    V.forms = el('div', 'kefu-y', V.panel); show(V.forms, false);
    V.form = el('div', 'kefu-f', V.panel);
    V.input = el('textarea', '', V.form);
    V.send = el('a', 'kefu-s', V.form); V.send.href = 'javascript:void 0';
    V.attach = el('a', 'kefu-a', V.form); V.attach.href = 'javascript:void 0';
    if (canUpload) {
      V.picker = el('input', '', V.form); V.picker.type = 'file'; show(V.picker, false);
      on(V.picker, 'change', function () {
        each(V.picker.files || [], function (f) { upload(f, 5); });
        V.picker.value = '';
      });
    }
    on(V.attach, 'click', function (e) { cancel(e); if (canUpload) V.picker.click(); else notice(T.oldBrowser); });
    V.card = el('div', 'kefu-v', V.root); show(V.card, false);
    V.cardText = el('a', 'kefu-w', V.card); V.cardText.href = 'javascript:void 0';
    V.cardX = el('a', 'kefu-z', V.card); V.cardX.href = 'javascript:void 0'; text(V.cardX, '\u00d7');
    on(V.cardText, 'click', function (e) { cancel(e); setOpen(true); });
    on(V.cardX, 'click', function (e) {
      cancel(e);
      var u = unreadList(), m = u[u.length - 1];
      if (m) { S.dismissed = m.conv + '/' + m.seq; save('pv', S.dismissed); }
      render();
    });
    on(d, 'mousedown', function () { S.interacted = true; });
    on(d, 'keydown', function () { S.interacted = true; });
    on(d, 'visibilitychange', function () { if (!hidden()) { flash(0); if (S.open) { readAll(); render(); } } });
    V.launch = el('a', 'kefu-b', V.root); V.launch.href = 'javascript:void 0';
    V.launch.setAttribute('role', 'button');
    text(V.launch, '\u2709');
    V.badge = el('span', 'kefu-n', V.launch); show(V.badge, false);
    on(V.launch, 'click', function (e) { cancel(e); setOpen(!S.open); });
    on(V.close, 'click', function (e) { cancel(e); setOpen(false); });
    on(V.send, 'click', function (e) { cancel(e); submit(); });
    on(V.input, 'keydown', function (e) {
      e = e || w.event;
      var k = e.keyCode || e.which;
      if (k == 13 && !e.shiftKey) { cancel(e); submit(); }
      else if (k == 27) setOpen(false);
      else typing();
    });
    style('#0b6e4f', false);
  }
  function cancel(e) {
    e = e || w.event;
    if (e.preventDefault) e.preventDefault(); else e.returnValue = false;
  }
  function submit() {
    var v = V.input.value;
    /* the offline form: a valid address and a message, the answer first */
    if (S.form == 'offline') {
      if (!formOk()) return;
      if (!trim(v)) { try { V.input.focus(); } catch (e) {} return; }
      contact('offline');
    }
    V.input.value = '';
    send(v);
  }

  /* ---- forms: offline, pre-chat, rating, the transcript's address ---- */
  /* protocol::api::valid_email's rule: an @ after something, a dot in
     the domain not at its start, no white space, at most 254 bytes */
  function emailOk(e) {
    var i = e.indexOf('@'), dom = e.substring(i + 1);
    return i > 0 && dom.indexOf('.') >= 0 && dom.charAt(0) != '.' && bytes(e) <= LIMITS.max_email_bytes &&
      !/[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(e);
  }
  function bytes(s) { return unescape(encodeURIComponent(s)).length; }
  /* s cut to max UTF-8 bytes at a character's edge */
  function cut(s, max) { while (bytes(s) > max) s = s.substring(0, s.length - 1); return s; }
  function identified() { var u = S.user; return !!(u && (u.name || u.email)); }
  function ratingDue() {
    var i, m;
    if (!S.conv || S.rating == 'off' || S.rated[S.conv]) return '';
    for (i = S.msgs.length - 1; i >= 0; i--) {
      m = S.msgs[i];
      if (m.conv == S.conv && !m.sys) return m.closed && !m.mine ? S.conv : '';
    }
    return '';
  }
  function formDue() {
    if (S.prechat && S.prechat.enabled && !S.known && !identified() && load('pc') != '1') return 'prechat';
    if (ratingDue()) return 'rate';
    /* asked while no email is known (a name known or not) */
    if (!S.agentsOnline && S.mail && !S.emailKnown && !S.email && !(S.user && S.user.email)) return 'offline';
    return S.askMail && S.mail ? 'mail' : '';
  }
  /* The form due, built once (what was typed stays while the chat
     re-renders); fields are [key, kind (0 text, 1 email, 2 tel, 3 select,
     4 checkbox), required, input, error line]. */
  function syncForms() {
    var want = formDue(), conv = ratingDue(), pc = S.prechat || {}, f = [], head = '', button = '', g, i;
    show(V.mail, S.mail && !!S.conv && !want && !S.refused);
    if (want == 'prechat') { show(V.form, false); show(V.log, false); } else show(V.log, true);
    text(V.send, want == 'offline' ? T.leave : T.send);
    if (want == S.form && conv == S.formConv) return;
    S.form = want; S.formConv = conv; S.score = 0; V.fields = f;
    while (V.forms.firstChild) V.forms.removeChild(V.forms.firstChild);
    show(V.forms, !!want);
    function field(k, label, kind, req, options, max) {
      var id = 'kefu-f-' + k, row = el('div', kind == 4 ? 'kefu-ck' : '', V.forms), l = d.createElement('label'),
        input = d.createElement(kind == 3 ? 'select' : 'input'), e, j;
      /* IE8 knows no email or tel inputs (and throws): text there */
      if (kind != 3) { try { input.type = ['text', 'email', 'tel', '', 'checkbox'][kind]; } catch (x) { input.type = 'text'; } }
      input.id = id; input.name = k; l.htmlFor = id;
      text(l, req || kind == 4 || k == 'comment' ? label : label + ' ' + T.optional);
      if (max) input.maxLength = max;
      if (req) input.setAttribute('aria-required', 'true');
      if (kind == 3) for (j = 0; j <= options.length; j++) input.options[j] = new Option(j ? options[j - 1] : '', j ? options[j - 1] : '');
      if (kind == 4) { row.appendChild(input); row.appendChild(l); } else { row.appendChild(l); row.appendChild(input); }
      e = el('span', 'kefu-e', V.forms); e.id = id + '-e'; show(e, false);
      input.setAttribute('aria-describedby', e.id);
      on(input, 'keydown', function (ev) {
        ev = ev || w.event;
        if ((ev.keyCode || ev.which) == 13) { cancel(ev); if (want == 'offline') submit(); else formSubmit(); }
      });
      f.push([k, kind, req, input, e]);
    }
    if (want == 'prechat') {
      head = T.prechat; button = T.start;
      each([['name', T.name, 0, LIMITS.max_name_bytes], ['email', T.email, 1, LIMITS.max_email_bytes], ['phone', T.phone, 2, LIMITS.max_phone_bytes]], function (a) {
        if (pc[a[0]] == 'optional' || pc[a[0]] == 'required') field(a[0], a[1], a[2], pc[a[0]] == 'required', [], a[3]);
      });
      each((pc.fields || []).slice(0, LIMITS.max_form_fields), function (c) {
        field('x_' + c.key, c.label, c.kind == 'select' ? 3 : c.kind == 'checkbox' ? 4 : 0, !!c.required, c.options || [], LIMITS.max_form_value_bytes);
      });
      if (pc.consent) field('consent', pc.consent, 4, true, [], 0);
    } else if (want == 'offline') {
      field('email', T.email, 1, true, [], LIMITS.max_email_bytes);
      /* no name asked when one is known or the pre-chat form asked */
      if (!S.known && !identified() && load('pc') != '1') field('name', T.name, 0, false, [], LIMITS.max_name_bytes);
    } else if (want == 'rate') {
      head = T.rate; button = T.send;
    } else if (want == 'mail') {
      field('email', T.email, 1, true, [], LIMITS.max_email_bytes);
      button = T.transcript;
    }
    if (head) { g = el('p', 'kefu-fh', null); text(g, head); V.forms.insertBefore(g, V.forms.firstChild); }
    if (want == 'rate') {
      g = el('div', 'kefu-st', null);
      g.setAttribute('role', 'radiogroup');
      V.forms.insertBefore(g, V.forms.firstChild.nextSibling);
      V.stars = [];
      each(S.rating == 'thumbs' ? [[5, '\ud83d\udc4d'], [1, '\ud83d\udc4e']] : [[1, '\u2605'], [2, '\u2605'], [3, '\u2605'], [4, '\u2605'], [5, '\u2605']], function (a) {
        var b = el('a', '', g);
        b.href = 'javascript:void 0'; text(b, a[1]);
        b.setAttribute('role', 'radio'); b.setAttribute('aria-checked', 'false'); b.setAttribute('aria-label', a[0] + '/5');
        b.setAttribute('data-s', a[0]);
        on(b, 'click', function (e) { cancel(e); star(a[0]); });
        V.stars.push(b);
      });
      field('comment', T.comment, 0, false, [], LIMITS.max_rating_comment_bytes);
    }
    if (button) {
      g = el('a', 'kefu-s', V.forms); g.href = 'javascript:void 0'; g.setAttribute('role', 'button'); text(g, button);
      if (V.color) g.style.backgroundColor = V.color;
      on(g, 'click', function (e) { cancel(e); formSubmit(); });
    }
  }
  function star(n) {
    S.score = n;
    each(V.stars, function (b) {
      var v = +b.getAttribute('data-s');
      b.setAttribute('aria-checked', String(S.rating == 'thumbs' ? v == n : v <= n));
      b.className = (S.rating == 'thumbs' ? v == n : v <= n) ? 'kefu-on' : '';
    });
  }
  function val(x) { return x[1] == 4 ? x[3].checked : trim(x[3].value); }
  /* Every field checked; what is wrong shown beside it, the first
     focused; true when all are fine. */
  function formOk() {
    var first = null;
    each(V.fields, function (x) {
      var v = val(x), why = '';
      if (!v) why = x[2] ? T.required : '';
      else if (x[1] == 1 && !emailOk(v)) why = T.badEmail;
      else if (x[1] == 2 && !/^[0-9 +().x-]*$/.test(v)) why = T.required;
      text(x[4], why); show(x[4], !!why);
      if (why) x[3].setAttribute('aria-invalid', 'true'); else x[3].removeAttribute('aria-invalid');
      if (why && !first) first = x[3];
    });
    if (first) { try { first.focus(); } catch (e) {} }
    return !first;
  }
  function queueFrame(f) { S.outbox.push({ cid: f.cid, text: '', frame: f }); persist(); flush(); }
  /* The answer as a contact frame through the outbox. */
  function contact(form) {
    var c = { type: 'contact', cid: newId('f'), form: form }, fields = {}, custom = false;
    each(V.fields, function (x) {
      var k = x[0], v = val(x);
      if (k.substring(0, 2) == 'x_') {
        if (x[1] == 4) { fields[k.substring(2)] = v ? 'true' : 'false'; custom = true; }
        else if (v) { fields[k.substring(2)] = cut(v, LIMITS.max_form_value_bytes); custom = true; }
      } else if (k == 'consent') c.consent = v;
      else if (v) {
        c[k] = cut(v, LIMITS.max_name_bytes);
        if (k == 'email') { S.email = v; save('em', v); }
      }
    });
    if (custom) c.fields = fields;
    queueFrame(c);
  }
  function formSubmit() {
    var kind = S.form, c;
    if (kind == 'offline') return submit();
    if (!formOk() || (kind == 'rate' && !S.score)) return;
    if (kind == 'prechat') { contact('prechat'); save('pc', '1'); }
    else if (kind == 'rate') {
      c = { type: 'rate', cid: newId('f'), conv: S.formConv, score: S.score };
      if (val(V.fields[0])) c.comment = cut(val(V.fields[0]), LIMITS.max_rating_comment_bytes);
      S.rated[S.formConv] = S.score;
      queueFrame(c);
    } else {
      S.email = val(V.fields[0]); save('em', S.email); S.askMail = false;
      transcript(S.email);
    }
    render();
    try { V.input.focus(); } catch (e) {}
  }
  function transcript(email) {
    var f = { type: 'transcript', conv: S.conv };
    if (email) f.email = email;
    cast([f]);
  }
  function askMail() {
    if (S.email || (S.user && S.user.email)) return transcript('');
    S.askMail = true; render();
  }

  function showTyping(yes, name) {
    show(V.typing, yes);
    if (yes) {
      text(V.typing, (name || T.agent) + ' ' + T.typing);
      later(function () { show(V.typing, false); }, TIMING.agent_typing_shown_ms);
    }
  }

  function bubble(cls, name, body, state, cid, file, ts) {
    var m = el('div', 'kefu-m ' + cls, V.log), u, i, a;
    if (name) { u = el('u', '', m); text(u, name); }
    if (file && file.id) {
      a = el('a', '', m); a.href = fileUrl(file); a.target = '_blank'; a.rel = 'noopener noreferrer';
      if (file.thumb) { i = el('img', '', a); i.src = fileUrl(file, true); i.alt = file.name; }
      else text(a, file.name + ' (' + Math.max(1, Math.round(file.size / 1024)) + ' KB)');
    }
    if (body) m.appendChild(d.createTextNode(body));
    if (ts) { i = el('s', '', m); text(i, when(ts)); }
    if (state) { i = el('i', '', m); text(i, state); }
    if (cid) m.setAttribute('data-cid', cid);
  }

  function render() {
    if (!V.root) return;
    text(V.title, T.title);
    text(V.status, S.refused ? T.unavailable : !S.connected ? T.reconnecting : S.agentsOnline ? T.online : T.away);
    text(V.attach, T.attach);
    text(V.mail, T.transcript);
    V.input.setAttribute('placeholder', T.placeholder);
    V.launch.setAttribute('aria-label', S.open ? T.close : T.open);
    show(V.panel, S.open);
    show(V.form, !S.refused);
    var u = unreadList(), last = u[u.length - 1];
    show(V.badge, u.length > 0);
    text(V.badge, String(Math.min(u.length, 99)));
    if (u.length != S.told) { S.told = u.length; emit('unread', u.length); }
    if (S.flash && S.flash.n != u.length) flash(u.length);
    last = !S.open && !S.refused && last && last.conv + '/' + last.seq != S.dismissed ? last : null;
    show(V.card, !!last);
    if (last) {
      while (V.cardText.firstChild) V.cardText.removeChild(V.cardText.firstChild);
      text(el('b', '', V.cardText), last.name || T.agent);
      V.cardText.appendChild(d.createTextNode(last.text || (last.file && last.file.name) || ''));
      V.cardX.setAttribute('aria-label', T.dismiss);
    }
    while (V.log.firstChild) V.log.removeChild(V.log.firstChild);
    bubble('', '', S.greeting || T.greeting, '', '');
    if (!S.agentsOnline) {
      bubble('kefu-sys', '', S.offlineText || (S.mail ? T.offline : T.offlineNomail), '', '');
      if (S.mail && S.email) bubble('kefu-sys', '', T.willEmail + S.email, '', '');
    }
    each(S.msgs, function (m, i) {
      var j;
      if (m.sys || m.closed) {
        bubble('kefu-sys', '', m.closed ? T.closed : m.text, '', '', null, m.ts);
        /* thanks for a rating, after its conversation's last close */
        if (m.closed && S.rated[m.conv]) {
          for (j = i + 1; j < S.msgs.length; j++) if (S.msgs[j].closed && S.msgs[j].conv == m.conv) return;
          bubble('kefu-sys', '', T.thanks, '', '');
        }
        return;
      }
      var state = !m.mine ? '' : m.up ? T.uploading : m.seq == 0 ? T.sending : m.seq <= S.agentRead ? T.read : T.sent;
      bubble(m.mine ? 'kefu-me' : '', m.mine ? '' : (m.name || T.agent), m.text, state, m.cid, m.file, m.ts);
      if (m.mine && V.color) V.log.lastChild.style.backgroundColor = V.color;
    });
    /* the place in line, while agents are online (else the away notice) */
    if (S.qPos > 0 && S.agentsOnline && S.conv == S.qConv) bubble('kefu-sys', '', T.queuePre + S.qPos + T.queuePost, '', '');
    if (S.refused) bubble('kefu-sys', '', T.unavailable, '', '');
    V.log.scrollTop = V.log.scrollHeight;
    syncForms();
  }

  /* ---- JS API -------------------------------------------------------- */
  function command(name, a, b) {
    if (name == 'open') setOpen(true);
    else if (name == 'close') setOpen(false);
    else if (name == 'toggle') setOpen(!S.open);
    else if (name == 'send' && typeof a == 'string') send(a);
    else if (name == 'identify' && a && typeof a == 'object') { S.user = a; if (S.connected) hello(); }
    else if (name == 'set' && a && typeof a == 'object' && a.team !== undefined) {
      /* the next conversation's team, an id (null: the whole site) */
      if (a.team === null || (typeof a.team == 'string' && /^[\w-]{1,64}$/.test(a.team))) {
        S.team = a.team;
        cast([{ type: 'team', team: a.team }]);
      } else warn('kefu: set: team ignored, not an id (1-64 of A-Z a-z 0-9 _ -) or null');
    }
    else if (name == 'on' && typeof b == 'function') {
      S.handlers.push([a, b]);
      if (a == 'ready' && S.ready) later(b, 0);
    }
    else if (name == 'page') page();
  }

  function start() {
    try {
      mount();
      render();
      var q = (w.kefu && w.kefu.q) || [];
      var api = function (n, a, b) { try { command(String(n), a, b); } catch (e) {} };
      api.mode = 'fallback';
      w.kefu = api;
      each(q, function (c) { api(c[0], c[1], c[2]); });
      var h = w.history;
      if (h && h.pushState) {
        each(['pushState', 'replaceState'], function (m) {
          var orig = h[m];
          h[m] = function () { var r = orig.apply(h, arguments); later(page, 0); return r; };
        });
        on(w, 'popstate', function () { later(page, 0); });
      }
      on(w, 'online', function () { if (!S.connected && !S.refused) { S.attempts = 0; hello(); } });
      if (load('open') == '1') setOpen(true, true);
      hello();
    } catch (e) {}
  }
  if (d.body) start(); else on(w, 'load', start);
})(window, document);
