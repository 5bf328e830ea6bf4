// Attachments end to end in headless chromium against a real relay: files
// dropped on the widget and on the console's reply box, pasted into the
// console; a visitor pastes an image into the wasm widget, the agent sees
// its thumbnail in the console and opens it full size; the agent sends a
// PDF and the visitor downloads it. The bytes are compared at each end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { startRelay, hostServer, page, browser, until, SHOTS, signedInConsole } from './lib.mjs';

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let relay, host, chrome;

before(async () => {
  relay = await startRelay(['--demo-password', OWNER.password]);
  host = await hostServer({ '/': () => page(relay, { title: 'Demo shop', body: '<h1>Demo shop</h1>' }) });
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await host?.close();
  await relay?.close();
});

/** A small but real PDF (one page, "Invoice 42"). */
function pdf() {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = 'BT /F1 24 Tf 40 70 Td (Invoice 42) Tj ET';
  objs[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += String(off).padStart(10, '0') + ' 00000 n \n';
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** Fires dragenter, dragover and drop at `target` (a locator) with
 *  `files` ([{name, type, text}]) in their DataTransfer, as a browser does
 *  when files are dropped there. Returns which of them the page cancelled:
 *  a browser only drops where dragover was cancelled. */
const dropFiles = (target, files) => target.evaluate((el, fs) => {
  const dt = new DataTransfer();
  for (const f of fs) dt.items.add(new File([f.text], f.name, { type: f.type }));
  const fire = (type) => !el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true, composed: true }));
  return { dragover: (fire('dragenter'), fire('dragover')), drop: fire('drop') };
}, files);

/** Fetches `href` in page `p` and returns the body as text. */
const fetchText = (p, href) => p.evaluate(async (h) => { const r = await fetch(h); return r.status + ' ' + await r.text(); }, href);

test('files: dropped on the widget, dropped on the console reply box, pasted into the console', async () => {
  const vctx = await chrome.newContext({ viewport: { width: 1100, height: 760 } });
  const v = await vctx.newPage();
  v.on('pageerror', (e) => console.error('widget pageerror:', e.message));
  await v.goto(host.url + '/');
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode === 'wasm' && !!localStorage.getItem('kefu:demo:tok')), 15000, 'widget connected');
  await v.locator('kefu-widget .b').click();

  // The visitor drops a text file on the open panel's message list.
  const visitorFile = { name: 'visitor-drop.txt', type: 'text/plain', text: 'dropped by the visitor\n' };
  assert.deepEqual(await dropFiles(v.locator('kefu-widget .g'), [visitorFile]), { dragover: true, drop: true });
  await until(() => v.evaluate(() => {
    const m = Array.from(document.querySelector('kefu-widget').shadowRoot.querySelectorAll('.m.me')).find((x) => x.textContent.includes('visitor-drop.txt'));
    const state = m && m.querySelector('i');
    return state && state.textContent === 'Sent';
  }), 15000, 'dropped file sent from the widget');

  // The agent sees it in the console, byte for byte.
  const actx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, actx, OWNER);
  await c.locator('.conv', { hasText: 'visitor-drop.txt' }).first().click();
  const vcard = c.locator('.msg.visitor .att-file', { hasText: 'visitor-drop.txt' });
  await vcard.waitFor({ timeout: 15000 });
  assert.equal(await fetchText(c, await vcard.getAttribute('href')), '200 ' + visitorFile.text);

  // The agent drops a file on the reply box (the drop reaches the whole
  // conversation pane)…
  const agentFile = { name: 'agent-drop.txt', type: 'text/plain', text: 'dropped by the agent\n' };
  assert.deepEqual(await dropFiles(c.locator('.composer textarea'), [agentFile]), { dragover: true, drop: true });
  const acard = c.locator('.msg.agent:not(.pending) .att-file', { hasText: 'agent-drop.txt' });
  await acard.waitFor({ timeout: 15000 });
  assert.equal(await fetchText(c, await acard.getAttribute('href')), '200 ' + agentFile.text);

  // …and pastes an image into it, as a screenshot tool puts one on the
  // clipboard: the paste is taken as a file, not as text.
  const pasted = await c.locator('.composer textarea').evaluate(async (ta) => {
    const cv = document.createElement('canvas');
    cv.width = 400; cv.height = 240;
    const g = cv.getContext('2d');
    g.fillStyle = '#9d0208'; g.fillRect(0, 0, 400, 240);
    const blob = await new Promise((r) => cv.toBlob(r, 'image/png'));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'agent-paste.png', { type: 'image/png' }));
    const cancelled = !ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    return { cancelled, size: blob.size };
  });
  assert.equal(pasted.cancelled, true, 'the console took the pasted file');
  const thumb = c.locator('.msg.agent:not(.pending) .att-img img[alt="agent-paste.png"]');
  await thumb.waitFor({ timeout: 15000 });
  await until(() => thumb.evaluate((i) => i.complete && i.naturalWidth > 0), 15000, 'pasted image thumbnail loaded');
  assert.equal(await c.locator('.composer textarea').inputValue(), '', 'nothing pasted as text');
  // A paste of plain text is left to the browser (it goes into the box).
  const textPaste = await c.locator('.composer textarea').evaluate((ta) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', 'just text');
    return !ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  assert.equal(textPaste, false, 'a text paste is not taken as a file');
  await c.screenshot({ path: path.join(SHOTS, 'console-drop-paste-1280x800.png') });

  // The visitor receives both.
  await v.locator('kefu-widget a.f', { hasText: 'agent-drop.txt' }).waitFor({ timeout: 15000 });
  await until(() => v.evaluate(() => {
    const img = document.querySelector('kefu-widget').shadowRoot.querySelector('.m:not(.me) img');
    return img && img.complete && img.naturalWidth > 0;
  }), 15000, 'pasted image in the widget');
  await v.screenshot({ path: path.join(SHOTS, 'widget-drop-paste-1100x760.png') });
  await vctx.close();
  await actx.close();
});

test('files: visitor pastes an image, agent opens it full size; agent sends a PDF, visitor downloads it', async () => {
  // The visitor: the wasm widget on the host page (another origin).
  const vctx = await chrome.newContext({ viewport: { width: 1100, height: 760 }, acceptDownloads: true });
  const v = await vctx.newPage();
  v.on('pageerror', (e) => console.error('widget pageerror:', e.message));
  await v.goto(host.url + '/');
  await until(() => v.evaluate(() => window.kefu && window.kefu.mode === 'wasm' && !!localStorage.getItem('kefu:demo:tok')), 15000, 'widget connected');
  await v.locator('kefu-widget .b').click();

  // Paste a PNG drawn on a canvas into the message box, as a screenshot
  // tool would put it on the clipboard.
  const pasted = await v.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 800; c.height = 500;
    const g = c.getContext('2d');
    g.fillStyle = '#1e6091'; g.fillRect(0, 0, 800, 500);
    g.fillStyle = '#f9c74f'; g.fillRect(80, 80, 300, 200);
    g.fillStyle = '#fff'; g.font = 'bold 64px sans-serif'; g.fillText('kefu', 460, 300);
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    const bytes = Array.from(new Uint8Array(await blob.arrayBuffer()));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'screenshot.png', { type: 'image/png' }));
    const ta = document.querySelector('kefu-widget').shadowRoot.querySelector('textarea');
    ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    return bytes;
  });
  // The widget shows the thumbnail once the message is acked.
  await until(() => v.evaluate(() => {
    const img = document.querySelector('kefu-widget').shadowRoot.querySelector('.m.me img');
    const state = img && img.closest('.m').querySelector('i');
    return img && img.complete && img.naturalWidth > 0 && state && state.textContent !== 'Sending…' && state.textContent !== 'Uploading…';
  }), 15000, 'widget shows the sent image');
  await v.screenshot({ path: path.join(SHOTS, 'widget-image-1100x760.png') });

  // The agent: the console, the conversation with the thumbnail.
  const actx = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const c = await signedInConsole(relay, actx, OWNER);
  await c.locator('.conv', { hasText: 'screenshot.png' }).first().click();
  const thumb = c.locator('.msg.visitor .att-img img');
  await thumb.waitFor({ timeout: 15000 });
  await until(() => thumb.evaluate((i) => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 320), 15000, 'thumbnail loaded');
  assert.equal(await thumb.evaluate((i) => i.naturalWidth), 320, 'the relay made a 320 px thumbnail');

  // Opening it shows the full-size original, byte for byte.
  const [full] = await Promise.all([actx.waitForEvent('page'), thumb.click()]);
  await full.waitForLoadState();
  assert.match(full.url(), /\/v1\/files\/[0-9a-f]{32}\?token=/);
  const resp = await actx.request.get(full.url());
  assert.equal(resp.status(), 200);
  assert.equal(resp.headers()['content-type'], 'image/png');
  assert.equal(resp.headers()['x-content-type-options'], 'nosniff');
  assert.deepEqual(Array.from(await resp.body()), pasted);
  await until(() => full.evaluate(() => document.images[0] && document.images[0].naturalWidth === 800), 10000, 'full image shown');
  await full.close();

  // The agent attaches a PDF with the paperclip.
  const doc = pdf();
  await c.locator('.composer .attach input[type=file]').setInputFiles({ name: 'invoice-42.pdf', mimeType: 'application/pdf', buffer: doc });
  const card = c.locator('.msg.agent:not(.pending) .att-file', { hasText: 'invoice-42.pdf' });
  await card.waitFor({ timeout: 15000 });
  assert.match(await card.textContent(), /PDF/);
  await c.screenshot({ path: path.join(SHOTS, 'console-attachments-1280x800.png') });

  // The visitor sees the card and downloads the PDF.
  const vcard = v.locator('kefu-widget a.f', { hasText: 'invoice-42.pdf' });
  await vcard.waitFor({ timeout: 15000 });
  await v.screenshot({ path: path.join(SHOTS, 'widget-attachments-1100x760.png') });
  const download = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no download')), 15000);
    const take = (d) => { clearTimeout(t); resolve(d); };
    v.once('download', take);
    vctx.once('page', (p) => p.once('download', take));
    vcard.click().catch(reject);
  });
  assert.equal(download.suggestedFilename(), 'invoice-42.pdf');
  const saved = await download.path();
  assert.deepEqual(readFileSync(saved), doc);

  // Nobody else: another visitor's browser cannot fetch the file by URL.
  const href = await vcard.getAttribute('href');
  const other = await chrome.newContext();
  const op = await other.newPage();
  await op.goto(host.url + '/');
  await until(() => op.evaluate(() => !!localStorage.getItem('kefu:demo:tok')), 15000, 'second visitor');
  const status = await op.evaluate(async (h) => {
    const u = new URL(h);
    u.searchParams.set('visitor', localStorage.getItem('kefu:demo:vid'));
    u.searchParams.set('token', localStorage.getItem('kefu:demo:tok'));
    return (await fetch(u)).status;
  }, href);
  assert.equal(status, 403);
  await other.close();

  // The owner turns attachments off for the site: new visitors get no
  // paperclip, and the relay refuses uploads.
  await c.click('[data-nav=settings]');
  for (const t of ['image', 'pdf', 'office', 'text']) await c.locator(`input[data-file-type=${t}]`).uncheck();
  await c.locator('.appearance button[type=submit]').click();
  await c.locator('.notice', { hasText: 'Saved' }).waitFor();
  await c.screenshot({ path: path.join(SHOTS, 'console-settings-files-1280x800.png') });
  const login = await (await fetch(relay.base + '/v1/api/login', { method: 'POST', body: JSON.stringify(OWNER) })).json();
  const site = await (await fetch(relay.base + '/v1/api/sites/demo', { headers: { authorization: 'Bearer ' + login.token } })).json();
  assert.deepEqual(site.widget.file_types, []);
  const late = await chrome.newContext();
  const lp = await late.newPage();
  await lp.goto(host.url + '/');
  await until(() => lp.evaluate(() => !!localStorage.getItem('kefu:demo:tok')), 15000, 'third visitor');
  await lp.locator('kefu-widget .b').click();
  assert.equal(await lp.evaluate(() => document.querySelector('kefu-widget').shadowRoot.querySelector('.c').hasAttribute('hidden')), true, 'no paperclip');
  await late.close();
  await vctx.close();
  await actx.close();
});
