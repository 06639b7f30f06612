// `dvs web --s3-redirect` against a real S3 store (Swift with s3api, started
// here): GETs of the larger files of a public video answer 307 to a
// presigned URL, and the store itself serves the recorded bytes there (Range
// too); a URL whose signature was altered is refused by the store; the small
// files, and every file of unlisted and private videos, are served by dvs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startWeb, upload,
  waitForVideo } from './harness.mjs';
import { startSwift } from './swift.mjs';

const BUCKET = 'dvs-redirect';
const PREFIX = 'site';
const MIN_KB = 8;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let dir;
let store;
let web;
let clip;

before(async () => {
  dir = await makeTempDir('dvs-s3-redirect-');
  store = await startSwift(path.join(dir, 'swift'));
  await store.createBucket(BUCKET);
  clip = await readFile(await makeClip(path.join(dir, 'clip.mp4'), { width: 640, height: 360, seconds: 4 }));
  const home = path.join(dir, 'web');
  await mkdir(home, { recursive: true });
  web = await startWeb(home, ['--s3-redirect', '--s3-redirect-min-kb', String(MIN_KB),
    'sqlite', 'data/metadata.db', 's3', `${store.endpoint}/${BUCKET}/${PREFIX}`],
  { env: { DVS_S3_ACCESS_KEY: store.accessKey, DVS_S3_SECRET_KEY: store.secretKey } });
});

after(async () => {
  await killLeftoverServers();
  if (store) await store.stop();
  if (dir) await removeDir(dir);
});

async function uploadReady(name, visibility) {
  const response = await upload(web.url, `${name}.mp4`, clip, { query: `?wait=1&visibility=${visibility}` });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  // ?wait=1 answered once it is ready; a private video is seen by its owner only.
  const video = await (await fetch(`${web.url}/api/videos/${name}`, { headers: authHeaders(web.url) })).json();
  assert.equal(video.state, 'ready', JSON.stringify(video));
  assert.equal(video.visibility, visibility);
  return video;
}

test('large files of a public video: 307 to a presigned URL where the store serves the recorded bytes; small files served here', async () => {
  const video = await uploadReady('open', 'public');
  let redirected = 0;
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${video.id}/${file.name}`, { redirect: 'manual' });
    if (file.size < MIN_KB * 1024) {
      assert.equal(response.status, 200, `${file.name} (${file.size} bytes) is served by dvs`);
      assert.equal(sha256(Buffer.from(await response.arrayBuffer())), file.sha256);
      continue;
    }
    assert.equal(response.status, 307, `${file.name} (${file.size} bytes) is redirected`);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const location = response.headers.get('location');
    assert.ok(location.startsWith(`${store.endpoint}/${BUCKET}/${PREFIX}/${video.id}/${video.generation}/${file.name}?`), location);
    assert.match(location, /X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Signature=[0-9a-f]{64}$/);
    const fromStore = await fetch(location);
    const bytes = Buffer.from(await fromStore.arrayBuffer());
    assert.equal(fromStore.status, 200, bytes.toString());
    assert.equal(sha256(bytes), file.sha256, `the store serves ${file.name} as recorded`);
    redirected++;
  }
  assert.ok(redirected > 0, 'some files are large enough to be redirected');
  assert.ok(redirected < video.files.length, 'some files are small enough to be served here');

  const large = video.files.find((f) => f.size >= MIN_KB * 1024);
  const followed = await fetch(`${web.url}/content/${video.id}/${large.name}`, { headers: { Range: 'bytes=100-1123' } });
  assert.equal(followed.status, 206, 'a Range request follows the redirect');
  const whole = Buffer.from(await (await fetch(`${web.url}/content/${video.id}/${large.name}`)).arrayBuffer());
  assert.deepEqual(Buffer.from(await followed.arrayBuffer()), whole.subarray(100, 1124));
});

test('a presigned URL with an altered signature is refused by the store', async () => {
  const video = await waitForVideo(web.url, 'open', (v) => v.state !== 'processing', 60000);
  assert.equal(video.state, 'ready', video.error);
  const large = video.files.find((f) => f.size >= MIN_KB * 1024);
  const response = await fetch(`${web.url}/content/${video.id}/${large.name}`, { redirect: 'manual' });
  const location = response.headers.get('location');
  const last = location.at(-1);
  const altered = location.slice(0, -1) + (last === '0' ? '1' : '0');
  const refused = await fetch(altered);
  assert.equal(refused.status, 403, await refused.text());
});

test('unlisted and private videos are never redirected', async () => {
  for (const visibility of ['unlisted', 'private']) {
    const video = await uploadReady(visibility, visibility);
    assert.ok(video.files.some((f) => f.size >= MIN_KB * 1024), 'it has files over the threshold');
    for (const file of video.files) {
      const response = await fetch(`${web.url}/content/${video.id}/${file.name}`,
        { redirect: 'manual', headers: authHeaders(web.url) });
      assert.equal(response.status, 200, `${visibility} ${file.name}`);
      assert.equal(sha256(Buffer.from(await response.arrayBuffer())), file.sha256);
    }
  }
});
