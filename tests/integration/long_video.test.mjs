// A 10-hour video on a real 3-member etcd: 160×90 at 2 frames a second, so
// it transcodes in minutes, yet it has as many segments as ten hours of any
// video (9,000 4-second segments). Before file indexes its record outgrew
// etcd's 1.5 MiB request limit and the video failed after all its work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { authHeaders, killLeftoverServers, makeTempDir, removeDir, startWeb, waitForVideo } from './harness.mjs';
import { startEtcdCluster } from './etcd_cluster.mjs';
import { parseManifest } from './dash.mjs';

const hours = Number(process.env.DVS_LONG_VIDEO_HOURS || 10);
let dir;
let etcd;
let web;

before(async () => {
  dir = await makeTempDir();
  etcd = await startEtcdCluster(path.join(dir, 'etcd'));
  await mkdir(path.join(dir, 'web'));
  web = await startWeb(path.join(dir, 'web'), ['--transcode-timeout', '3000', 'etcd', etcd.endpoints(),
    'fs', path.join(dir, 'web', 'content')]);
});

after(async () => {
  if (web) await web.stop();
  if (etcd) await etcd.stop();
  await killLeftoverServers();
  await removeDir(dir);
});

test(`a ${hours}-hour video becomes ready on etcd with a small record`, { timeout: 40 * 60 * 1000 }, async () => {
  const clip = path.join(dir, 'long.mp4');
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    `testsrc=size=160x90:rate=2:duration=${hours * 3600}`, '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', '8', '-pix_fmt', 'yuv420p', clip], { maxBuffer: 1 << 20 });
  const form = new FormData();
  form.append('file', await openAsBlob(clip), 'ten hours.mp4');
  const response = await fetch(`${web.url}/upload`, { method: 'POST', body: form, redirect: 'manual', headers: authHeaders(web.url) });
  assert.equal(response.status, 303, await response.text());
  const video = await waitForVideo(web.url, 'ten-hours', (v) => v.state !== 'processing', 35 * 60 * 1000);
  assert.equal(video.state, 'ready', `${video.error}\n${web.log().slice(-3000)}`);
  assert.ok(Math.abs(video.duration_s - hours * 3600) < 10, `duration ${video.duration_s}`);
  assert.ok(video.files.length > hours * 900, `${video.files.length} files`);

  // The record as etcd holds it: at most 16 KiB, and no file list in it.
  const key = Buffer.from('/dvs/videos/ten-hours').toString('base64');
  const range = await (await fetch(`http://${etcd.members[0].endpoint}/v3/kv/range`, {
    method: 'POST', body: JSON.stringify({ key }),
  })).json();
  const record = Buffer.from(range.kvs[0].value, 'base64');
  assert.ok(record.length <= 16 * 1024, `record of ${record.length} bytes`);
  assert.ok(!record.toString().includes('"files":['), 'the record carries no file list');

  // Served from the end as from the start: the manifest, and the first and
  // last segments it names.
  const manifestResponse = await fetch(`${web.url}/content/ten-hours/manifest.mpd`);
  assert.equal(manifestResponse.status, 200);
  const manifest = parseManifest(await manifestResponse.text());
  assert.ok(manifest.representations.length >= 1);
  // The ladder's video segments (the quick copy's are chunk-q…).
  const chunks = video.files.map((f) => f.name).filter((name) => /^chunk-\d/.test(name)).sort();
  assert.ok(chunks.length >= hours * 900, `${chunks.length} segments`);
  const files = [chunks[0], chunks.at(-1)];
  for (const file of files) {
    assert.equal((await fetch(`${web.url}/content/ten-hours/${file}`)).status, 200, file);
  }
  // A restarted server loads it again from etcd.
  await web.stop();
  web = await startWeb(path.join(dir, 'web'), ['etcd', etcd.endpoints(), 'fs', path.join(dir, 'web', 'content')]);
  assert.equal((await fetch(`${web.url}/content/ten-hours/${files.at(-1)}`)).status, 200);
});
