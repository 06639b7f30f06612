// The viewer's side in real headless Chromium (Debian's package) driven by
// playwright-core: log in through the page, upload through its form, watch
// the progress, play the video with dash.js, log out. Screenshots go to DVS_TEST_OUTPUT (default
// build/test-output/browser).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  adminPassword, authHeaders, makeClip, makeTempDir, removeDir, startWeb, waitForVideo,
} from '../integration/harness.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const outputDir = process.env.DVS_TEST_OUTPUT || path.resolve('build/test-output/browser');
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--autoplay-policy=no-user-gesture-required'];

let dir;
let web;
let browser;
let clip;

before(async () => {
  dir = await makeTempDir('dvs-browser-');
  await mkdir(outputDir, { recursive: true });
  clip = await makeClip(path.join(dir, 'Sunset Walk.mp4'), { seconds: 12 });
  web = await startWeb(dir);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumFlags });
});

after(async () => {
  await browser?.close();
  if (web) await web.stop();
  await removeDir(dir);
});

// A page that records console errors and failed requests.
async function openPage(viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== web.url) problems.push(`request to another host: ${request.url()}`);
  });
  return { page, problems };
}

test('log in, upload through the form, see progress, play with at least two qualities, log out', async () => {
  const { page, problems } = await openPage();
  await page.goto(web.url);
  assert.equal(await page.locator('#upload-form').count(), 0, 'no upload form before logging in');
  await page.click('#login-link');
  await page.fill('#login-form input[name=user]', 'admin');
  await page.fill('#login-form input[name=password]', adminPassword);
  await page.screenshot({ path: path.join(outputDir, 'login.png') });
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('#login-form button[type=submit]')]);
  assert.equal(await page.textContent('#logged-in-user'), 'admin');
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === 'dvs_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Lax', JSON.stringify(cookies));
  await page.screenshot({ path: path.join(outputDir, 'index-empty.png') });

  // Slow the upload down so its progress can be seen moving.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1_000_000 });
  await page.evaluate(() => {
    window.seenProgress = [];
    const bar = document.getElementById('upload-progress');
    setInterval(() => { if (!bar.hidden) window.seenProgress.push(bar.value); }, 50);
  });
  await page.setInputFiles('input[name=file]', clip);
  await page.click('#upload-form button[type=submit]');
  await page.waitForFunction(() => /Uploading… [1-9]/.test(document.getElementById('upload-status').textContent));
  await page.screenshot({ path: path.join(outputDir, 'upload-in-progress.png') });
  await page.waitForFunction(() => /Processing/.test(document.getElementById('upload-status').textContent),
    null, { timeout: 60000 });
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.screenshot({ path: path.join(outputDir, 'processing.png') });
  const watch = page.locator('#upload-status a', { hasText: 'Watch it' });
  await watch.waitFor({ timeout: 240000 });
  const seen = await page.evaluate(() => window.seenProgress);
  const distinct = new Set(seen.filter((value) => value > 0 && value < 1).map((v) => v.toFixed(2)));
  assert.ok(distinct.size >= 2, `the progress bar moved: ${[...distinct]}`);

  // The upload plays as it is within seconds; the full ladder (every
  // quality) follows. Wait for it so the quality menu has every height.
  await waitForVideo(web.url, 'Sunset-Walk', (video) => video.state === 'ready');
  await watch.click();
  await page.waitForURL(`${web.url}/videos/Sunset-Walk`);
  await page.waitForFunction(() => window.dvsPlayer && document.getElementById('quality').options.length > 2,
    null, { timeout: 30000 });
  await page.evaluate(() => { const video = document.getElementById('player'); video.muted = true; return video.play(); });
  await page.waitForFunction(() => document.getElementById('player').currentTime > 3, null, { timeout: 60000 });
  const heights = await page.evaluate(() => window.dvsPlayer.getRepresentationsByType('video').map((r) => r.height));
  assert.ok(heights.length >= 2, `representations offered: ${heights}`);
  const options = await page.locator('#quality option').allTextContents();
  assert.deepEqual(options.slice(1), [...heights].sort((a, b) => b - a).map((h) => `${h}p`));
  await page.screenshot({ path: path.join(outputDir, 'playing.png') });

  await page.goto(web.url);
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('#logout')]);
  await page.locator('#login-link').waitFor();
  assert.equal(await page.locator('#upload-form').count(), 0, 'no upload form after logging out');
  assert.ok(!(await page.context().cookies()).some((cookie) => cookie.name === 'dvs_session' && cookie.value));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a private video: uploaded with the form\'s select, played by its signed URLs, 404 once logged out', async () => {
  const privateClip = await makeClip(path.join(dir, 'Private Walk.mp4'), { seconds: 6 });
  const { page, problems } = await openPage();
  const fetched = [];
  page.on('request', (request) => fetched.push(new URL(request.url()).pathname));
  await page.goto(`${web.url}/login`);
  await page.fill('#login-form input[name=user]', 'admin');
  await page.fill('#login-form input[name=password]', adminPassword);
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('#login-form button[type=submit]')]);
  await page.selectOption('#upload-visibility', 'private');
  await page.setInputFiles('input[name=file]', privateClip);
  await page.click('#upload-form button[type=submit]');
  await page.locator('#upload-status a', { hasText: 'Watch it' }).waitFor({ timeout: 240000 });
  // Anonymous polling would see a 404: ask as the admin who owns it.
  const deadline = Date.now() + 240000;
  let meta;
  do {
    meta = await (await fetch(`${web.url}/api/videos/Private-Walk`, { headers: authHeaders(web.url) })).json();
    if (meta.state !== 'ready') await new Promise((resolve) => setTimeout(resolve, 250));
  } while (meta.state !== 'ready' && Date.now() < deadline);
  assert.equal(meta.visibility, 'private');
  assert.equal(meta.state, 'ready');

  const response = await page.goto(`${web.url}/videos/Private-Walk`);
  assert.equal(response.status(), 200);
  assert.match(await page.getAttribute('#player', 'data-dash'), /^\/play\/Private-Walk\/\d+\/[0-9a-f]{64}\/manifest\.mpd$/);
  await page.waitForFunction(() => window.dvsPlayer, null, { timeout: 30000 });
  await page.evaluate(() => { const video = document.getElementById('player'); video.muted = true; return video.play(); });
  await page.waitForFunction(() => document.getElementById('player').currentTime > 2, null, { timeout: 60000 });
  const media = fetched.filter((name) => name.includes('Private-Walk') && /\.(mpd|m4s)$/.test(name));
  assert.ok(media.some((name) => name.endsWith('.m4s')), 'segments were fetched');
  assert.deepEqual(media.filter((name) => !name.startsWith('/play/Private-Walk/')), [], 'all through signed URLs');
  await page.screenshot({ path: path.join(outputDir, 'private-playing.png') });

  await page.goto(web.url);
  assert.match(await page.locator('li.video', { hasText: 'Private Walk.mp4' }).textContent(), /private/);
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('#logout')]);
  await page.locator('#login-link').waitFor();
  assert.equal(await page.locator('li.video', { hasText: 'Private Walk.mp4' }).count(), 0, 'not listed for a visitor');
  assert.deepEqual(problems, []);
  const hidden = await page.goto(`${web.url}/videos/Private-Walk`);
  assert.equal(hidden.status(), 404);
  await page.close();
});

test('the index lists the upload with its poster, date and duration', async () => {
  const { page, problems } = await openPage({ width: 390, height: 844 });
  await page.goto(web.url);
  const item = page.locator('li.video', { hasText: 'Sunset Walk.mp4' });
  await item.waitFor();
  assert.match(await item.textContent(), /0:12/);
  assert.match(await item.textContent(), /ready/);
  const posterLoaded = await item.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0);
  assert.ok(posterLoaded, 'the poster is shown');
  await page.screenshot({ path: path.join(outputDir, 'index-phone.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('an unknown video gets a 404 page', async () => {
  const page = await browser.newPage();
  const response = await page.goto(`${web.url}/videos/no-such-video`);
  assert.equal(response.status(), 404);
  assert.match(await page.textContent('body'), /no video "no-such-video"/);
  await page.close();
});
