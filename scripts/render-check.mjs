#!/usr/bin/env node
// Checks that a report.html really renders: headless Chromium loads a copy of the page with a
// tiny script appended that counts the <figure>s whose <svg> has a non-empty bounding box and
// writes the count to <body data-rendered>; the DOM dump must show data-rendered equal to the
// page's own data-figures. A PNG screenshot is taken too (for people, and to check that a
// non-empty image comes out).
//   node scripts/render-check.mjs report.html [--png out.png]
//   HEADGRAD_CHROMIUM  the browser binary (default: chromium, chromium-browser, google-chrome or
//                      google-chrome-stable, the first found on PATH)
// Prints one JSON line { expected, rendered, png, pngWidth, pngHeight, ok }; exit 0 when ok.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findChromium } from './find-chromium.mjs';

const COUNT_SCRIPT = `<script>
document.body.setAttribute('data-rendered', String(Array.from(document.querySelectorAll('figure')).filter(function (f) {
  var svg = f.querySelector('svg');
  if (!svg) return false;
  var box = svg.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}).length));
</script>`;

function fail(message) {
  console.error(`render-check: ${message}`);
  process.exit(1);
}

function chromium(browser, userDataDir, args) {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${userDataDir}`];
  const r = spawnSync(browser, [...flags, ...args], { encoding: 'utf8', timeout: 90_000, maxBuffer: 1 << 28 });
  if (r.error) fail(`could not run ${browser}: ${r.error.message}`);
  if (r.status !== 0) fail(`${browser} exited with ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

// Width and height from a PNG's IHDR chunk (bytes 16..24), or null when it is not a PNG.
function pngSize(file) {
  const b = readFileSync(file);
  if (b.length < 24 || b.toString('latin1', 1, 4) !== 'PNG') return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

const args = process.argv.slice(2);
const htmlPath = args[0];
const pngAt = args.indexOf('--png');
if (!htmlPath || htmlPath.startsWith('--') || (pngAt >= 0 && !args[pngAt + 1])) fail('usage: node scripts/render-check.mjs report.html [--png out.png]');
if (!existsSync(htmlPath)) fail(`no such file: ${htmlPath}`);
const found = findChromium();
if (!found.path) fail(`no chromium found (tried ${found.tried}): apt-get install chromium, or set HEADGRAD_CHROMIUM to the browser binary`);
const browser = found.path;

const html = readFileSync(htmlPath, 'utf8');
const declared = /<body[^>]*\bdata-figures="(\d+)"/.exec(html);
if (!declared) fail(`${htmlPath}: <body> has no data-figures attribute (not a headgrad report?)`);
const expected = Number(declared[1]);

const work = mkdtempSync(path.join(tmpdir(), 'headgrad-render-'));
try {
  const probe = path.join(work, 'probe.html');
  writeFileSync(probe, html.replace(/<\/body>/i, `${COUNT_SCRIPT}\n</body>`));
  const dom = chromium(browser, path.join(work, 'profile-dom'), ['--dump-dom', pathToFileURL(probe).href]);
  const counted = /<body[^>]*\bdata-rendered="(\d+)"/.exec(dom);
  if (!counted) fail('the DOM dump has no data-rendered attribute: the count script did not run');
  const rendered = Number(counted[1]);

  const png = pngAt >= 0 ? path.resolve(args[pngAt + 1]) : path.join(work, 'screenshot.png');
  const shot = path.join(work, 'shot.png');
  chromium(browser, path.join(work, 'profile-png'), [`--screenshot=${shot}`, '--window-size=1200,2400', '--hide-scrollbars', pathToFileURL(htmlPath).href]);
  const size = existsSync(shot) ? pngSize(shot) : null;
  if (size && pngAt >= 0) copyFileSync(shot, png);

  const ok = rendered === expected && size !== null && size.width > 0 && size.height > 0;
  console.log(JSON.stringify({ expected, rendered, png: pngAt >= 0 ? png : null, pngWidth: size?.width ?? 0, pngHeight: size?.height ?? 0, ok }));
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
