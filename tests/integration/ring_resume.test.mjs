// A ring change survives a crash of the web server running it: kill -9 in
// the middle of `dvs admin remove`, restart, and the restarted server
// finishes the change by itself and empties the removed storage server; every
// file is then served, also with that server gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  admin, killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage, startWeb, upload,
} from './harness.mjs';

let dir;
let web;
const nodes = [];
let video;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function webArgs() {
  return ['--replicas', '2', '--cache-mb', '0', '--copy-parallelism', '2',
    'sqlite', './data/metadata.db', 'nw',
    ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')];
}

const adminAddressOf = (server) => server.log().match(/admin gRPC serving (\S+)/)[1];

async function waitForLog(server, pattern, timeoutMs = 90000) {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(server.log())) {
    if (Date.now() > deadline) assert.fail(`no ${pattern} in the log within ${timeoutMs} ms:\n${server.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fetchAll() {
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${video.id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
  }
  return failures;
}

before(async () => {
  dir = await makeTempDir('dvs-ring-resume-');
  for (const name of ['s1', 's2', 's3']) {
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    nodes.push(await startStorage(folder));
  }
  // The change pauses once its transition is stored, so the kill lands in it.
  web = await startWeb(dir, webArgs(), { env: { DVS_TEST_RING_CHANGE_PAUSE_MS: '120000' } });
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { width: 640, height: 360, seconds: 6 });
  const response = await upload(web.url, 'resume clip.mp4', await readFile(clip), { query: '?wait=1' });
  assert.equal(response.status, 200);
  video = await response.json();
  assert.equal(video.state, 'ready', video.error);
});

after(async () => {
  if (web) await web.stop('SIGKILL');
  for (const node of nodes) await node.stop('SIGKILL');
  await killLeftoverServers();
  await removeDir(dir);
});

test('kill -9 of the web server during admin remove: after its restart the change is finished and every file is served', async () => {
  const leaving = nodes[2];
  const removing = admin('remove', adminAddressOf(web), leaving.address);
  await waitForLog(web, new RegExp(`ring change remove ${leaving.address} started`));
  await web.stop('SIGKILL');
  const interrupted = await removing;
  assert.notEqual(interrupted.code, 0, 'the admin call saw its server die');

  web = await startWeb(dir, webArgs());
  await waitForLog(web, new RegExp(`ring change remove ${leaving.address} resumed`));
  await waitForLog(web, new RegExp(`ring change remove ${leaving.address} committed`));
  const list = await admin('list', adminAddressOf(web));
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.output.nodes, nodes.slice(0, 2).map((n) => n.address).sort());
  assert.deepEqual(await fetchAll(), []);
  // The resumed change's clean-up empties the removed server.
  await waitForLog(web, new RegExp(`ring change remove ${leaving.address} cleaned up`));
  const left = await readdir(path.join(dir, 's3', 'blobs'), { recursive: true, withFileTypes: true });
  assert.deepEqual(left.filter((entry) => entry.isFile()).map((entry) => entry.name), []);

  // Served without the removed server: its files were copied, not left there.
  await leaving.stop('SIGKILL');
  assert.deepEqual(await fetchAll(), []);
});
