// Size budgets (sizes are deterministic, so a test is right here):
// loader ≤ 1.5 KB gzipped; widget wasm + JS glue + boot (CSS is inside the
// wasm; the glue inside boot.js once bundled) ≤ 40 KB gzipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const gz = (f) => gzipSync(readFileSync(path.join(ROOT, f)), { level: 9 }).length;

test('loader is at most 1.5 KB gzipped', () => {
  const n = gz('www/loader.js');
  console.log(`loader.js: ${n} B gz`);
  assert.ok(n <= 1536, `${n} B`);
});

test('widget (wasm + glue + boot, CSS inside) is at most 40 KB gzipped', () => {
  // make wasm bundles the glue into boot.js (without esbuild it stays a
  // file of its own, and counts the same).
  const files = ['www/widget/kefu_widget_bg.wasm', 'www/widget/kefu_widget.js', 'www/widget/boot.js']
    .filter((f) => f.endsWith('kefu_widget.js') ? existsSync(path.join(ROOT, f)) : true);
  if (files.length == 2) assert.doesNotMatch(readFileSync(path.join(ROOT, 'www/widget/boot.js'), 'utf8'), /kefu_widget\.js/, 'boot.js imports a glue file that is not counted');
  const parts = files.map((f) => [f, gz(f)]);
  const total = parts.reduce((s, [, n]) => s + n, 0);
  console.log(parts.map(([f, n]) => `${path.basename(f)}: ${n} B gz`).join(', ') + `; total ${total} B`);
  assert.ok(total <= 40 * 1024, `${total} B`);
});
