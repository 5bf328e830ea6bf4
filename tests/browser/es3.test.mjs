// fallback.js must run on IE8: ES3 syntax only (acorn, ecmaVersion 3), no
// reliance on built-ins IE8 lacks, and at most 12 KB gzipped as served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import * as acorn from 'acorn';
import { ROOT } from './lib.mjs';

const src = readFileSync(path.join(ROOT, 'www/fallback.js'), 'utf8');

// ES3 forbids reserved words as property names (`x.class`, `{default: 1}`),
// which acorn's ecmaVersion 3 mode lets through; IE8 does not.
const RESERVED = new Set(('break case catch continue default delete do else finally for function if in instanceof ' +
  'new return switch this throw try typeof var void while with abstract boolean byte char class const debugger ' +
  'double enum export extends final float goto implements import int interface long native package private ' +
  'protected public short static super synchronized throws transient volatile null true false').split(' '));

function es3Check(code) {
  acorn.parse(code, { ecmaVersion: 3, allowReserved: false });
  const toks = [...acorn.tokenizer(code, { ecmaVersion: 3 })];
  toks.forEach((t, i) => {
    const word = t.type.keyword || (t.type.label === 'name' ? t.value : null);
    if (!word || !RESERVED.has(word)) return;
    const prev = toks[i - 1], next = toks[i + 1];
    if (prev && prev.type.label === '.') throw new Error(`reserved word as property: .${word}`);
    if (next && next.type.label === ':' && prev && (prev.type.label === '{' || prev.type.label === ',')) {
      throw new Error(`reserved word as object key: ${word}:`);
    }
  });
}

/** The code without its comments. */
function code(text) {
  const spans = [];
  acorn.parse(text, { ecmaVersion: 3, onComment: (block, t, start, end) => spans.push([start, end]) });
  let out = '', at = 0;
  for (const [a, b] of spans) { out += text.slice(at, a); at = b; }
  return out + text.slice(at);
}

test('fallback.js parses as ECMAScript 3', () => {
  es3Check(src);
});

test('the ES3 check rejects ES5+ syntax (so it can fail)', () => {
  for (const bad of ['var a = {b: 1,};', 'let a = 1;', 'const a = 1;', 'var f = () => 1;', 'var o = {get x() { return 1; }};', 'x.class = 1;', 'var o = {default: 1};', 'var s = `t`;']) {
    assert.throws(() => es3Check(bad), bad);
  }
});

const BANNED = [/\.forEach\(/, /\.map\(/, /\.filter\(/, /Object\.keys/, /Object\.create/, /\.bind\(/,
  /\.trim\(/, /Date\.now/, /classList/, /querySelector/, /\bPromise\b/, /\bfetch\(/, /new WebSocket/,
  /\.textContent\b/, /\bJSON\.(parse|stringify)\(/];

test('fallback.js uses nothing IE8 lacks', () => {
  const body = code(src);
  for (const re of BANNED) assert.ok(!re.test(body), 'uses ' + re);
  // addEventListener only behind the attachEvent-aware helper.
  assert.equal((body.match(/addEventListener/g) || []).length, 2, 'addEventListener outside on()');
});

// What the relay serves is `make wasm`'s minified copy (www/widget/
// fallback.js): it must still be ES3, use nothing IE8 lacks, and fit the
// budget (the source's comments and names do not count against it).
const built = path.join(ROOT, 'www/widget/fallback.js');

test('the served fallback.js (minified by make wasm) is ES3 and uses nothing IE8 lacks', () => {
  assert.ok(existsSync(built), 'www/widget/fallback.js is missing: run make wasm');
  const min = readFileSync(built, 'utf8');
  es3Check(min);
  const body = code(min);
  for (const re of BANNED) assert.ok(!re.test(body), 'uses ' + re);
  assert.equal((body.match(/addEventListener/g) || []).length, 2, 'addEventListener outside on()');
});

test('the served fallback.js is at most 12 KB gzipped', () => {
  const n = gzipSync(readFileSync(built), { level: 9 }).length;
  console.log(`fallback.js (served, minified): ${n} B gz; source ${gzipSync(Buffer.from(src), { level: 9 }).length} B gz`);
  assert.ok(n <= 12 * 1024, `${n} B`);
});

// The hosted chat page's own script runs before the loader on every
// browser, IE8 included: ES3 too, and what IE8 lacks only behind a check.
test('page.js (the hosted chat page) parses as ECMAScript 3 and guards what IE8 lacks', () => {
  const page = readFileSync(path.join(ROOT, 'www/page.js'), 'utf8');
  es3Check(page);
  const body = code(page);
  for (const re of [/\.forEach\(/, /\.map\(/, /\.filter\(/, /\.trim\(/, /classList/, /querySelector/, /\.textContent\b/]) {
    assert.ok(!re.test(body), 'uses ' + re);
  }
  assert.match(body, /if \(w\.MutationObserver\)/, 'MutationObserver behind a check');
  assert.match(body, /h && h\.replaceState/, 'replaceState behind a check');
});
