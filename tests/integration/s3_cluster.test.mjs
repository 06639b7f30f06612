// `s3` content with `etcd` metadata and two `dvs web` servers (issue #18):
// a one-member etcd and OpenStack Swift with s3api (swift.mjs), both started
// here; servers A and B share the etcd and the bucket. A video uploaded on A
// is served by A and by B; a job whose server is killed -9 mid-transcode is
// finished by the other from the source kept in the bucket; a delete through
// B removes every object of the video from the bucket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startWeb, upload,
  waitForVideo, waitUntil } from './harness.mjs';
import { startEtcdCluster } from './etcd_cluster.mjs';
import { startSwift } from './swift.mjs';

const BUCKET = 'dvs-cluster';
const PREFIX = 'shared';
const json = { headers: { Accept: 'application/json' } };

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let dir;
let etcd;
let store;
const webs = {};

async function folder(name) {
  const made = path.join(dir, name);
  await mkdir(made, { recursive: true });
  return made;
}

async function startWebServer(name) {
  webs[name] = await startWeb(await folder(name),
    ['etcd', etcd.endpoints(), 's3', `${store.endpoint}/${BUCKET}/${PREFIX}`],
    { env: { DVS_S3_ACCESS_KEY: store.accessKey, DVS_S3_SECRET_KEY: store.secretKey } });
  return webs[name];
}

// The files of video `id` (as `web` lists them) that `web` does not serve
// whole with their recorded SHA-256; [] when all are served.
async function unservedFiles(web, id) {
  const video = await (await fetch(`${web.url}/api/videos/${id}`)).json();
  assert.ok(video.files.length > 3, `video ${id} has files: ${JSON.stringify(video)}`);
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) {
      failures.push(`${file.name}: ${response.status}`);
    }
  }
  return failures;
}


async function uploadTo(web, name, clipOptions) {
  const clip = await makeClip(path.join(dir, name), clipOptions);
  const response = await upload(web.url, name, await readFile(clip), json);
  const body = await response.text();
  assert.equal(response.status, 202, body);
  return JSON.parse(body).id;
}

before(async () => {
  dir = await makeTempDir('dvs-s3-cluster-');
  [etcd, store] = await Promise.all([
    folder('etcd').then((etcdDir) => startEtcdCluster(etcdDir, 1)),
    startSwift(path.join(dir, 'swift')),
  ]);
  await store.createBucket(BUCKET);
  await startWebServer('a');
  await startWebServer('b');
});

after(async () => {
  await killLeftoverServers();
  if (store) await store.stop();
  if (etcd) await etcd.stop();
  if (dir) await removeDir(dir);
});

test('a video uploaded on A gets ready, and every file is served by B and by A', async () => {
  const id = await uploadTo(webs.a, 'shared.mp4', { width: 640, height: 360, seconds: 4 });
  const video = await waitForVideo(webs.b.url, id, (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', video.error);
  assert.deepEqual(await unservedFiles(webs.b, id), [], 'B serves every file');
  assert.deepEqual(await unservedFiles(webs.a, id), [], 'A serves every file');
});

test('A killed -9 while transcoding: B finishes the job from the source kept in the bucket', async () => {
  const id = await uploadTo(webs.a, 'handoff.mp4', { width: 640, height: 360, seconds: 20 });
  const claimed = new RegExp(`job of ${id} \\(generation ([0-9a-f]+)[^)]*\\) starts \\(task video-`);
  const started = Date.now();
  while (!claimed.test(webs.a.log()) && Date.now() - started < 120000) await sleep(50);
  const generation = webs.a.log().match(claimed)?.[1];
  assert.ok(generation, `A claimed a rendition task:\n${webs.a.log().slice(-3000)}`);
  // Swift's listings may lag behind its writes (container updates left pending
  // under load): looked at until seen.
  const kept = await waitUntil(async () => {
    const keys = await store.listKeys(BUCKET, `${PREFIX}/${id}/${generation}.source/`);
    return keys.includes(`${PREFIX}/${id}/${generation}.source/source`) || keys;
  });
  assert.equal(kept, true, `the source is kept in the bucket: ${kept}`);
  await webs.a.stop('SIGKILL');

  const video = await waitForVideo(webs.b.url, id, (v) => v.state !== 'processing', 240000);
  assert.equal(video.state, 'ready', `${video.error}\n${webs.b.log().slice(-3000)}`);
  assert.match(webs.b.log(), new RegExp(`job of ${id}: taken over from process`));
  assert.match(webs.b.log(), new RegExp(`fetched the source of video ${id}`));
  assert.deepEqual(await unservedFiles(webs.b, id), []);
  const left = await waitUntil(async () => {
    const keys = await store.listKeys(BUCKET, `${PREFIX}/${id}/${generation}.source/`);
    return keys.length === 0 || keys;
  });
  assert.equal(left, true, `the kept source (and its parts) is removed once ready: ${left}`);
  await startWebServer('a');
  assert.deepEqual(await unservedFiles(webs.a, id), [], 'the restarted A serves it too');
});

test('a delete through B removes every object of the video from the bucket', async () => {
  const ids = ['shared', 'handoff'];
  for (const id of ids) {
    assert.ok((await store.listKeys(BUCKET, `${PREFIX}/${id}/`)).length > 0, `${id} is stored`);
  }
  const [gone, kept] = ids;
  const { files } = await (await fetch(`${webs.a.url}/api/videos/${gone}`)).json();
  const deleted = await fetch(`${webs.b.url}/api/videos/${gone}`,
    { method: 'DELETE', headers: authHeaders(webs.b.url) });
  assert.equal(deleted.status, 204, await deleted.text());
  const left = await waitUntil(async () => {
    const keys = await store.listKeys(BUCKET, `${PREFIX}/${gone}/`);
    return keys.length === 0 || keys;
  });
  assert.equal(left, true, `no object of the deleted video is left: ${left}`);
  for (const web of [webs.a, webs.b]) {
    const response = await fetch(`${web.url}/content/${gone}/${files[0].name}`);
    assert.equal(response.status, 404, `${web.url} no longer serves it`);
  }
  assert.ok((await store.listKeys(BUCKET, `${PREFIX}/${kept}/`)).length > 0, 'the other video stays');
});
