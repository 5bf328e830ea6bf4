// make icons: renders the console's app icons (agent-web/icons/*.svg) into
// the PNGs its web app manifest lists (agent-web/static/icon-*.png), with
// the same headless Debian chromium the browser tests use. The PNGs are
// committed; run this after editing an SVG.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'agent-web', 'icons');
const OUT = path.join(ROOT, 'agent-web', 'static');
/** [source svg, output png, size in px] */
const ICONS = [
  ['icon.svg', 'icon-192.png', 192],
  ['icon.svg', 'icon-512.png', 512],
  ['icon-maskable.svg', 'icon-maskable-512.png', 512],
];

const chrome = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  for (const [svg, png, size] of ICONS) {
    const page = await chrome.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
    const data = 'data:image/svg+xml;base64,' + readFileSync(path.join(SRC, svg)).toString('base64');
    await page.setContent(`<style>html,body{margin:0;background:transparent}</style><img src="${data}" width="${size}" height="${size}">`);
    await page.waitForFunction(() => document.images[0].complete);
    await page.screenshot({ path: path.join(OUT, png), omitBackground: true });
    await page.close();
    console.log(`${png} (${size}×${size}) from ${svg}`);
  }
} finally {
  await chrome.close();
}
