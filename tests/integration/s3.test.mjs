// `dvs web … s3 URL` against a real S3 store: OpenStack Swift with s3api,
// started by the test (swift.mjs). Upload → ready → every file served from
// the bucket → Range → delete removes every object; the store's refusal of a
// wrong secret or a missing bucket stops the server at start; a stopped
// store gives 503, and serving resumes once it is back; a store that stops
// answering makes every call time out (reads 503, start refused, a job
// retried until it answers again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startWeb, upload,
  waitForVideo, waitUntil } from './harness.mjs';
import { startSwift } from './swift.mjs';

const run = promisify(execFile);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

const BUCKET = 'dvs-videos';
const PREFIX = 'site-a';

let dir;
let store;
let web;
let clip;

function s3Env(overrides = {}) {
  return {
    DVS_S3_ACCESS_KEY: store.accessKey,
    DVS_S3_SECRET_KEY: store.secretKey,
    DVS_S3_PART_MB: '5',  // the source (over 5 MiB) goes up in parts
    ...overrides,
  };
}

async function folder(name) {
  const made = path.join(dir, name);
  await mkdir(made, { recursive: true });
  return made;
}

// A clip of more than one 5 MiB part: lossless frames are large.
async function makeLargeClip(file) {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    'testsrc2=size=1280x720:rate=30:duration=3', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-qp', '0', '-pix_fmt', 'yuv420p', file]);
  return file;
}

async function uploadReady(name, bytes) {
  const response = await upload(web.url, name, bytes, { query: '?wait=1' });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  const id = JSON.parse(body).id;
  const video = await waitForVideo(web.url, id, (v) => v.state !== 'processing');
  assert.equal(video.state, 'ready', JSON.stringify(video));
  return video;
}


before(async () => {
  dir = await makeTempDir('dvs-s3-');
  store = await startSwift(path.join(dir, 'swift'));
  await store.createBucket(BUCKET);
  clip = await readFile(await makeLargeClip(path.join(dir, 'large.mp4')));
  assert.ok(clip.length > 5 << 20, `the clip has ${clip.length} bytes: more than one part`);
  web = await startWeb(await folder('web'), ['sqlite', 'data/metadata.db', 's3',
    `${store.endpoint}/${BUCKET}/${PREFIX}`], { env: s3Env() });
});

after(async () => {
  await killLeftoverServers();
  if (store) await store.stop();
  if (dir) await removeDir(dir);
});

test('an upload is stored as objects of the bucket, and every file is served with its recorded hash', async () => {
  const video = await uploadReady('first.mp4', clip);
  assert.doesNotMatch(web.log(), /cannot keep the source/,
    'the source (over one part) went up to the store as a multipart upload');
  const keys = await store.listKeys(BUCKET, `${PREFIX}/${video.id}/${video.generation}/`);
  const names = keys.map((k) => k.split('/').pop());
  assert.ok(names.some((n) => /^index-[0-9a-f]{64}\.json$/.test(n)), 'the file index is stored too');
  assert.deepEqual(names.filter((n) => !n.startsWith('index-')).sort(),
    video.files.map((f) => f.name).sort(), 'the generation folder holds the recorded files');
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${video.id}/${file.name}`);
    assert.equal(response.status, 200, file.name);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(sha256(bytes), file.sha256, `${file.name} is the recorded content`);
    assert.equal(Number(response.headers.get('content-length')), bytes.length);
  }
});

test('Range requests pass through to the store: 206 with exactly the asked bytes, 416 past the end', async () => {
  const video = await waitForVideo(web.url, 'first', (v) => v.state === 'ready');
  const file = video.files.reduce((a, b) => (a.size >= b.size ? a : b));
  const url = `${web.url}/content/${video.id}/${file.name}`;
  const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
  assert.ok(whole.length > 300, `${file.name} has ${whole.length} bytes`);

  const part = await fetch(url, { headers: { Range: 'bytes=100-299' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-299/${whole.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(100, 300));

  const tail = await fetch(url, { headers: { Range: `bytes=${whole.length - 10}-` } });
  assert.equal(tail.status, 206);
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(whole.length - 10));

  const beyond = await fetch(url, { headers: { Range: `bytes=${whole.length}-` } });
  assert.equal(beyond.status, 416);
});

test('a stopped store gives 503 with its reason, and serving resumes when it is back', async () => {
  const video = await uploadReady('second.mp4', clip);
  const file = video.files.find((f) => f.name.endsWith('.m4s')) ?? video.files[0];
  const url = `${web.url}/content/${video.id}/${file.name}`;  // never read: not in the cache
  await store.stopProxy();
  try {
    const down = await fetch(url);
    const reason = await down.text();
    assert.equal(down.status, 503, reason);
    assert.match(reason, /GET|S3|connect/i, 'the answer says why');
    const ready = await fetch(`${web.url}/readyz`);
    assert.equal(ready.status, 503, 'not ready while the store is down');
  } finally {
    await store.startProxy();
  }
  const back = await waitUntil(async () => {
    const response = await fetch(url);
    const bytes = Buffer.from(await response.arrayBuffer());
    return response.status === 200 && sha256(bytes) === file.sha256 ? true : response.status;
  });
  assert.equal(back, true, 'the file is served again, with its recorded content');
});

// The names of the files of `video` that `server` does not serve whole, with
// their recorded SHA-256.
async function unservedFiles(server, video) {
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${server.url}/content/${video.id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
  }
  return failures;
}

test('a store that stops answering: every call times out (DVS_S3_TIMEOUT_S), reads give 503, dvs web will not start; a job whose store went away retries and ends ready once it is back', async () => {
  const env = s3Env({ DVS_S3_TIMEOUT_S: '2' });
  const location = `${store.endpoint}/${BUCKET}/site-b`;
  const server = await startWeb(await folder('timeouts'), ['sqlite', 'data/metadata.db', 's3', location], { env });
  const json = { headers: { Accept: 'application/json' } };
  const small = await readFile(await makeClip(path.join(dir, 'small.mp4'), { width: 640, height: 360, seconds: 4 }));
  const answer = await upload(server.url, 'before.mp4', small, { query: '?wait=1' });
  assert.equal(answer.status, 200, await answer.clone().text());
  const before = await waitForVideo(server.url, 'before', (v) => v.state !== 'processing');
  assert.equal(before.state, 'ready', before.error);
  const file = before.files.find((f) => f.name.endsWith('.m4s'));  // never read: not in the cache

  store.pauseProxy();
  try {
    let started = Date.now();
    const hung = await fetch(`${server.url}/content/before/${file.name}`);
    const reason = await hung.text();
    assert.equal(hung.status, 503, reason);
    assert.match(reason, /timed out|timeout/i, 'the answer says the store did not answer in time');
    assert.ok(Date.now() - started < 20000, `answered after ${Date.now() - started} ms`);

    started = Date.now();
    await assert.rejects(startWeb(await folder('timeouts-start'), ['sqlite', 'data/metadata.db', 's3', location], { env }),
      (error) => {
        assert.match(error.message, /dvs exited 1/);
        assert.match(error.message, /timed out|timeout/i);
        return true;
      });
    assert.ok(Date.now() - started < 20000, `dvs web gave up after ${Date.now() - started} ms`);

    const during = await upload(server.url, 'during.mp4', small, json);
    assert.equal(during.status, 202, await during.clone().text());
    const slowWrite = /video during[^\n]*: PUT [^\n]*(timed out|too slow)/i;
    const timedOut = await waitUntil(() => slowWrite.test(server.log()), 120000);
    assert.equal(timedOut, true, `a write of video during timed out:\n${server.log().slice(-3000)}`);
  } finally {
    store.resumeProxy();
  }
  // Then down for good: the job fails, and is retried once the store is back.
  await store.stopProxy();
  try {
    const retried = await waitUntil(() => /job of during failed \(will retry\)/.test(server.log()), 120000);
    assert.equal(retried, true, `the job failed and waits for a retry:\n${server.log().slice(-3000)}`);
  } finally {
    await store.startProxy();
  }
  const video = await waitForVideo(server.url, 'during', (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', `${video.error}\n${server.log().slice(-3000)}`);
  assert.deepEqual(await unservedFiles(server, video), []);
  await server.stop();
});

test('deleting a video removes every object of it from the bucket', async () => {
  const video = await waitForVideo(web.url, 'first', (v) => v.state === 'ready');
  const prefix = `${PREFIX}/${video.id}/`;
  assert.ok((await store.listKeys(BUCKET, prefix)).length > 0);
  const deleted = await fetch(`${web.url}/api/videos/${video.id}`,
    { method: 'DELETE', headers: authHeaders(web.url) });
  assert.equal(deleted.status, 204);
  const gone = await waitUntil(async () => {
    const left = await store.listKeys(BUCKET, prefix);
    return left.length === 0 ? true : left;
  });
  assert.equal(gone, true, `objects left: ${JSON.stringify(gone)}`);
  assert.equal((await fetch(`${web.url}/content/${video.id}/${video.files[0].name}`)).status, 404);
  const other = await store.listKeys(BUCKET, `${PREFIX}/second/`);
  assert.ok(other.length > 0, 'the other video stays');
});

test('a wrong secret or a missing bucket stops dvs web at start with the store\'s reason (exit 1)', async () => {
  const cases = [
    { env: s3Env({ DVS_S3_SECRET_KEY: 'not-the-secret' }), bucket: BUCKET, reason: /403|SignatureDoesNotMatch|AccessDenied/ },
    { env: s3Env(), bucket: 'no-such-bucket', reason: /NoSuchBucket|404/ },
  ];
  for (const { env, bucket, reason } of cases) {
    const started = startWeb(await folder(`refused-${bucket}-${env.DVS_S3_SECRET_KEY}`),
      ['sqlite', 'data/metadata.db', 's3', `${store.endpoint}/${bucket}`], { env });
    await assert.rejects(started, (error) => {
      assert.match(error.message, /dvs exited 1/);
      assert.match(error.message, reason);
      return true;
    });
  }
});
