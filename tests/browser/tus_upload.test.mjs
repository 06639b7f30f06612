// The page's resumable uploads (issue #17) in headless Chromium: the upload
// form sends the file with tus-js-client in 4 MiB chunks; the network goes
// offline in the middle and comes back, and the upload goes on by itself,
// completes and plays. Without JavaScript the same form still posts the
// file whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import {
  adminPassword, makeClip, makeTempDir, removeDir, startWeb, waitForVideo,
} from '../integration/harness.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const run = promisify(execFile);

const outputDir = process.env.DVS_TEST_OUTPUT || path.resolve('build/test-output/browser');
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--autoplay-policy=no-user-gesture-required'];

let dir;
let web;
let browser;

before(async () => {
  dir = await makeTempDir('dvs-browser-tus-');
  await mkdir(outputDir, { recursive: true });
  web = await startWeb(dir);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumFlags });
});

after(async () => {
  await browser?.close();
  if (web) await web.stop();
  await removeDir(dir);
});

async function logIn(page) {
  await page.goto(`${web.url}/login`);
  await page.fill('#login-form input[name=user]', 'admin');
  await page.fill('#login-form input[name=password]', adminPassword);
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('#login-form button[type=submit]')]);
}

test('an upload through the page survives the network going offline midway, completes and plays', async () => {
  // Lossless noise: about 12 MB in one second, so three or more chunks.
  const file = path.join(dir, 'Offline Walk.mp4');
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    'testsrc2=size=640x360:rate=30:duration=2', '-vf', 'noise=alls=40:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', file]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await logIn(page);

  const patches = [];
  const failed = [];
  let wentOffline = false;
  page.on('requestfailed', (request) => failed.push(`${request.method()} ${request.url()}`));
  // The second chunk is where the network goes away: it and the retries
  // that follow fail until it is back, two seconds later.
  await page.route((url) => url.pathname.startsWith('/api/uploads/'), async (route) => {
    const request = route.request();
    if (request.method() !== 'PATCH') return route.continue();
    patches.push(Number(request.headers()['upload-offset']));
    if (patches.length === 2 && !wentOffline) {
      wentOffline = true;
      await context.setOffline(true);
      setTimeout(() => { context.setOffline(false); }, 2000);
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
  await page.evaluate(() => {
    window.seenStatus = new Set();
    const status = document.getElementById('upload-status');
    new MutationObserver(() => window.seenStatus.add(status.textContent))
      .observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.setInputFiles('input[name=file]', file);
  await page.click('#upload-form button[type=submit]');
  await page.locator('#upload-status a', { hasText: 'Watch it' }).waitFor({ timeout: 240000 });
  await page.screenshot({ path: path.join(outputDir, 'tus-after-offline.png') });
  assert.ok(wentOffline, 'the network went offline during the upload');
  assert.ok(failed.length >= 1, 'a request failed while offline');
  const seen = await page.evaluate(() => [...window.seenStatus]);
  assert.ok(seen.some((text) => /Connection lost; retrying/.test(text)), `statuses: ${seen}`);
  // The chunk cut by the outage was sent again from the server's offset, not from 0.
  assert.ok(patches.length >= 3, `PATCH offsets: ${patches}`);
  assert.equal(patches.filter((offset) => offset === 0).length, 1, `PATCH offsets: ${patches}`);

  // The whole ladder, and the DASH player attached: a play() before dash.js
  // loads its source is cut short by that load ("interrupted by a new load").
  await waitForVideo(web.url, 'Offline-Walk', (video) => video.state === 'ready');
  await page.click('#upload-status a');
  await page.waitForURL(`${web.url}/videos/Offline-Walk`);
  await page.waitForFunction(() => window.dvsPlayer, null, { timeout: 30000 });
  await page.evaluate(() => { const video = document.getElementById('player'); video.muted = true; return video.play(); });
  await page.waitForFunction(() => document.getElementById('player').currentTime > 1, null, { timeout: 60000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('Pause stops the upload and Resume finishes it', async () => {
  const file = await makeClip(path.join(dir, 'Paused Walk.mp4'), { width: 320, height: 240, seconds: 4 });
  const context = await browser.newContext();
  const page = await context.newPage();
  await logIn(page);
  const patches = [];
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  // The first chunk is held back until Pause is pressed.
  await page.route((url) => url.pathname.startsWith('/api/uploads/'), async (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    patches.push(Number(route.request().headers()['upload-offset']));
    if (patches.length === 1) await held;
    return route.continue().catch(() => {});  // the paused request is gone
  });
  await page.setInputFiles('input[name=file]', file);
  await page.click('#upload-form button[type=submit]');
  const deadline = Date.now() + 30000;
  while (patches.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(patches.length, 1, 'the first chunk was sent');
  await page.click('#upload-pause');
  await page.waitForFunction(() => /Paused at/.test(document.getElementById('upload-status').textContent));
  assert.equal(await page.textContent('#upload-pause'), 'Resume');
  release();
  await page.click('#upload-pause');
  await page.locator('#upload-status a', { hasText: 'Watch it' }).waitFor({ timeout: 240000 });
  assert.ok(patches.length >= 2, `PATCH offsets: ${patches}`);
  await context.close();
});

test('without JavaScript the form posts the file whole and lands on the video page', async () => {
  const file = await makeClip(path.join(dir, 'Plain Walk.mp4'), { width: 320, height: 240, seconds: 2 });
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await logIn(page);
  await page.setInputFiles('input[name=file]', file);
  await Promise.all([page.waitForURL(`${web.url}/videos/Plain-Walk`, { timeout: 60000 }),
    page.click('#upload-form button[type=submit]')]);
  await context.close();
});
