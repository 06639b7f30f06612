// `dvs web` end to end on the embedded backends: a real binary, real ffmpeg,
// a 720p clip made here, uploaded over HTTP and streamed back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { authHeaders, makeClip, makeTempDir, rawGet, rawRequest, removeDir, startWeb, upload, waitForVideo } from './harness.mjs';
import { parseManifest } from './dash.mjs';

let dir;
let web;
let clipBytes;

before(async () => {
  dir = await makeTempDir();
  clipBytes = await readFile(await makeClip(path.join(dir, 'source.mp4'), { seconds: 10 }));
  web = await startWeb(dir);
});

after(async () => {
  if (web) assert.equal(await web.stop(), 0, `dvs did not stop cleanly:\n${web.log()}`);
  await removeDir(dir);
});

test('the index and health endpoints answer', async () => {
  const index = await fetch(`${web.url}/`, { headers: authHeaders(web.url) });
  assert.equal(index.status, 200);
  assert.match(await index.text(), /<form[^>]+action="\/upload"/);
  // Anonymous visitors see the list and a login link, not the form.
  const anonymous = await (await fetch(`${web.url}/`)).text();
  assert.doesNotMatch(anonymous, /action="\/upload"/);
  assert.match(anonymous, /href="\/login"/);
  assert.equal((await fetch(`${web.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${web.url}/readyz`)).status, 200);
  const dashjs = await fetch(`${web.url}/static/dash.all.min.js`);
  assert.equal(dashjs.status, 200);
  assert.ok((await dashjs.arrayBuffer()).byteLength > 100000, 'dash.js is served by dvs itself');
});

test('an uploaded 720p clip becomes an adaptive DASH video whose every file is served', async () => {
  const response = await upload(web.url, 'My Trip 2024.mp4', clipBytes);
  assert.equal(response.status, 303);
  assert.equal(response.headers.get('location'), '/videos/My-Trip-2024');

  const video = await waitForVideo(web.url, 'My-Trip-2024', (v) => v.state !== 'processing');
  assert.equal(video.state, 'ready', JSON.stringify(video));
  assert.equal(video.title, 'My Trip 2024.mp4');
  assert.equal(video.progress, 1);
  assert.equal(video.height, 720);
  assert.ok(Math.abs(video.duration_s - 10) < 0.5, `duration ${video.duration_s}`);

  const manifestResponse = await fetch(`${web.url}${video.urls.dash}`);
  assert.equal(manifestResponse.status, 200);
  assert.equal(manifestResponse.headers.get('content-type'), 'application/dash+xml');
  const manifest = parseManifest(await manifestResponse.text());
  const heights = manifest.representations.filter((r) => r.height > 0).map((r) => r.height);
  assert.ok(heights.length >= 2, `video renditions: ${heights}`);
  assert.ok(heights.includes(720), `the source height is kept: ${heights}`);
  assert.ok(manifest.representations.some((r) => r.contentType === 'audio' || r.mimeType.startsWith('audio')));

  const stored = new Map(video.files.map((f) => [f.name, f]));
  for (const representation of manifest.representations) {
    for (const file of representation.files) {
      const segment = await fetch(`${web.url}/content/My-Trip-2024/${file}`);
      assert.equal(segment.status, 200, `${file} is served`);
      const bytes = Buffer.from(await segment.arrayBuffer());
      assert.ok(bytes.length > 0, `${file} is not empty`);
      assert.equal(Number(segment.headers.get('content-length')), bytes.length);
      const sha = createHash('sha256').update(bytes).digest('hex');
      assert.equal(stored.get(file)?.sha256, sha, `${file} matches its recorded checksum`);
      assert.equal(segment.headers.get('etag'), `"${sha}"`);
    }
  }
});

test('Range requests get 206 with exactly the asked bytes, and HEAD gets only headers', async () => {
  const video = await waitForVideo(web.url, 'My-Trip-2024', (v) => v.state === 'ready');
  const file = video.files.find((f) => f.name.startsWith('chunk-'));
  const url = `${web.url}/content/My-Trip-2024/${file.name}`;
  const whole = Buffer.from(await (await fetch(url)).arrayBuffer());

  const part = await fetch(url, { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-199/${whole.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(100, 200));

  const suffix = await fetch(url, { headers: { Range: 'bytes=-50' } });
  assert.equal(suffix.status, 206);
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), whole.subarray(whole.length - 50));

  const beyond = await fetch(url, { headers: { Range: `bytes=${whole.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${whole.length}`);

  const head = await rawRequest(web.url, `HEAD /content/My-Trip-2024/${file.name} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  assert.equal(head.status, 200);
  assert.match(head.text, new RegExp(`Content-Length: ${whole.length}\\r\\n`, 'i'));
  assert.ok(head.text.endsWith('\r\n\r\n'), 'HEAD has no body');

  const cached = await fetch(url, { headers: { 'If-None-Match': `"${file.sha256}"` } });
  assert.equal(cached.status, 304);
});

test('a second upload of the same name is refused with 409 and changes nothing', async () => {
  const before = await (await fetch(`${web.url}/api/videos/My-Trip-2024`)).json();
  const response = await upload(web.url, 'My Trip 2024.mp4', clipBytes, { headers: { Accept: 'application/json' } });
  assert.equal(response.status, 409);
  assert.match((await response.json()).error, /My-Trip-2024/);
  const afterwards = await (await fetch(`${web.url}/api/videos/My-Trip-2024`)).json();
  assert.deepEqual(afterwards, before);
});

test('a file that is not a video gets 422 with the reason, and nothing is kept', async () => {
  const response = await upload(web.url, 'notes.mp4', Buffer.from('these are my notes, not a video\n'.repeat(50)),
    { headers: { Accept: 'application/json' } });
  assert.equal(response.status, 422);
  assert.ok((await response.json()).error.length > 10);
  assert.equal((await fetch(`${web.url}/api/videos/notes`)).status, 404);
  assert.deepEqual(await readdir(path.join(dir, 'data', 'work', 'uploads')), []);
  const jobs = await readdir(path.join(dir, 'data', 'work', 'jobs')).catch(() => []);
  assert.ok(!jobs.includes('notes'));
  const content = await readdir(path.join(dir, 'data', 'content'));
  assert.ok(!content.includes('notes'));
});

test('an upload without a file, or with a name that makes no id, gets 400', async () => {
  const form = new FormData();
  form.append('title', 'no file here');
  const noFile = await fetch(`${web.url}/upload`, { method: 'POST', body: form, headers: { ...authHeaders(web.url), Accept: 'application/json' } });
  assert.equal(noFile.status, 400);
  const noId = await upload(web.url, '日本語.mp4', clipBytes, { headers: { Accept: 'application/json' } });
  assert.equal(noId.status, 400);
  assert.match((await noId.json()).error, /letters or digits/);
  const notMultipart = await fetch(`${web.url}/upload`, { method: 'POST', body: 'x', headers: { ...authHeaders(web.url), 'Content-Type': 'text/plain' } });
  assert.equal(notMultipart.status, 400);
});

test('../ tricks in ids and file names get 400 or 404, never a file outside its folder', async () => {
  const token = 'TOP-SECRET-7d1f';
  await writeFile(path.join(dir, 'data', 'secret.txt'), token);
  const targets = [
    '/content/My-Trip-2024/..%2F..%2Fmetadata.db',
    '/content/..%2Fdata/secret.txt',
    '/content/My-Trip-2024/%2e%2e',
    '/content/%2E%2E/secret.txt',
    '/content/My-Trip-2024/..%5Cmanifest.mpd',
    '/content/My-Trip-2024/.manifest.mpd',
    '/api/videos/..%2F..%2Fetc',
    '/videos/..%2Fsecret.txt',
    '/content/My-Trip-2024/manifest.mpd%00.jpg',
  ];
  for (const target of targets) {
    const { status, text } = await rawGet(web.url, target);
    assert.equal(status, 400, `${target} → ${status}`);
    assert.ok(!text.includes(token), 'no file content leaks');
  }
  for (const target of ['/content/My-Trip-2024/../../metadata.db', '/content/../data/secret.txt',
                        '/static/../../secret.txt']) {
    const { status, text } = await rawGet(web.url, target);
    assert.ok(status === 400 || status === 404, `${target} → ${status}`);
    assert.ok(!text.includes(token), 'no file content leaks');
  }
  assert.equal((await fetch(`${web.url}/content/My-Trip-2024/nothing.m4s`)).status, 404);
  assert.equal((await fetch(`${web.url}/content/nobody/manifest.mpd`)).status, 404);
  assert.equal((await fetch(`${web.url}/videos/nobody`)).status, 404);
});

test('deleting a video removes its record and every file', async () => {
  const response = await upload(web.url, 'short.mp4', clipBytes, { query: '?wait=1' });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).state, 'ready');
  assert.ok((await readdir(path.join(dir, 'data', 'content'))).includes('short'));
  const deleted = await fetch(`${web.url}/api/videos/short`, { method: 'DELETE', headers: authHeaders(web.url) });
  assert.equal(deleted.status, 204);
  assert.equal((await fetch(`${web.url}/api/videos/short`)).status, 404);
  assert.equal((await fetch(`${web.url}/content/short/manifest.mpd`)).status, 404);
  assert.ok(!(await readdir(path.join(dir, 'data', 'content'))).includes('short'));
});

test('a video uploaded again after a delete never serves the old bytes', async () => {
  const first = await (await upload(web.url, 'again.mp4', clipBytes, { query: '?wait=1' })).json();
  assert.equal(first.state, 'ready');
  const old = await (await fetch(`${web.url}/api/videos/again`)).json();
  const oldSegment = old.files.find((f) => f.name.startsWith('chunk-'));
  assert.equal((await fetch(`${web.url}/api/videos/again`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 204);
  // Something else under the same name: a shorter, smaller clip.
  const otherClip = await readFile(await makeClip(path.join(dir, 'other.mp4'), { width: 320, height: 180, seconds: 4 }));
  const second = await (await upload(web.url, 'again.mp4', otherClip, { query: '?wait=1' })).json();
  assert.equal(second.state, 'ready');
  assert.notEqual(second.generation, old.generation, 'each upload has its own generation');
  const now = await (await fetch(`${web.url}/api/videos/again`)).json();
  for (const file of now.files) {
    const response = await fetch(`${web.url}/content/again/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, 200, file.name);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, file.name);
  }
  const sameName = now.files.find((f) => f.name === oldSegment.name);
  if (sameName) assert.notEqual(sameName.sha256, oldSegment.sha256);
  else assert.equal((await fetch(`${web.url}/content/again/${oldSegment.name}`)).status, 404);
  // Only the current generation's folder is left on disk.
  assert.deepEqual(await readdir(path.join(dir, 'data', 'content', 'again')), [now.generation]);
  assert.equal((await fetch(`${web.url}/api/videos/again`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 204);
});

test('only files named in the video\'s index are served, never the index itself', async () => {
  const video = await (await fetch(`${web.url}/api/videos/My-Trip-2024`)).json();
  const folder = path.join(dir, 'data', 'content', 'My-Trip-2024', video.generation);
  const stored = await readdir(folder);
  const index = stored.find((name) => name.startsWith('index-'));
  assert.ok(index, `an index file is stored: ${stored}`);
  assert.equal((await fetch(`${web.url}/content/My-Trip-2024/${index}`)).status, 404);
  await writeFile(path.join(folder, 'planted.m4s'), 'not ours');
  assert.equal((await fetch(`${web.url}/content/My-Trip-2024/planted.m4s`)).status, 404);
  assert.equal(video.files.some((f) => f.name.startsWith('index-')), false);
});

test('lists page by cursor: limits, the next cursor, a bad limit or cursor is 400', async () => {
  const all = await (await fetch(`${web.url}/api/videos?limit=500`)).json();
  assert.equal(all.next_cursor, null);
  assert.ok(all.videos.length >= 1);
  assert.ok(all.videos.every((v) => !('files' in v)), 'summaries carry no file list');
  const first = await (await fetch(`${web.url}/api/videos?limit=1`)).json();
  assert.equal(first.videos.length, 1);
  assert.equal(first.videos[0].id, all.videos[0].id);
  if (all.videos.length > 1) assert.equal(typeof first.next_cursor, 'string');
  for (const bad of ['limit=0', 'limit=501', 'limit=ten', 'cursor=nonsense']) {
    const response = await fetch(`${web.url}/api/videos?${bad}`, { headers: { Accept: 'application/json' } });
    assert.equal(response.status, 400, bad);
    assert.ok((await response.json()).error.length > 5, bad);
  }
  assert.equal((await fetch(`${web.url}/?cursor=nonsense`)).status, 400);
});

test('the list API shows the videos newest first', async () => {
  const { videos } = await (await fetch(`${web.url}/api/videos`)).json();
  assert.deepEqual(videos.map((v) => v.id), ['My-Trip-2024']);
  assert.ok(web.alive(), 'the server is still running');
});
