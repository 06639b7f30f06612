// A storage tier that keeps itself honest (#16 items 1 and 2), with real
// storage servers: a delete made while a node is down is finished once the
// node is back, by `dvs admin repair` and by the web server's own retries,
// and repair never copies the deleted video back; a byte flipped in a stored
// file is found by the storage server's scrubber and re-copied from a good
// replica without any viewer reading it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, open } from 'node:fs/promises';
import path from 'node:path';
import {
  admin, authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage, startWeb,
  upload,
} from './harness.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let dir;
let web;
let adminAddress;
let clip;
const nodes = [];  // storage servers, by index; each keeps its folder and port across restarts

async function folder(name) {
  const made = path.join(dir, name);
  await mkdir(made, { recursive: true });
  return made;
}

async function startNode(i, port = 0) {
  nodes[i] = await startStorage(await folder(`node${i}`), port, { args: ['--scrub-every', '2'] });
}

async function startWebServer(upkeepEverySeconds) {
  if (web) await web.stop();
  web = await startWeb(await folder('web'), ['--replicas', '3', '--upkeep-every', String(upkeepEverySeconds),
    'sqlite', './data/metadata.db', 'nw', ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
  adminAddress = web.log().match(/admin gRPC serving (\S+)/)[1];
}

async function uploadReady(name) {
  const response = await upload(web.url, name, await readFile(clip), { query: '?wait=1' });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  const video = JSON.parse(body);
  assert.equal(video.state, 'ready', video.error);
  return video;
}

// The files a storage server holds on disk for a video (every generation).
async function filesOnNode(node, id) {
  const found = [];
  async function walk(at) {
    let entries;
    try { entries = await readdir(at, { withFileTypes: true }); } catch { return; }
    for (const entry of entries) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) await walk(full); else found.push(full);
    }
  }
  await walk(path.join(node.dir, 'blobs', id));
  return found;
}

async function filesEverywhere(id) {
  const counts = [];
  for (const node of nodes) counts.push((await filesOnNode(node, id)).length);
  return counts;
}

async function deleteVideo(id) {
  const response = await fetch(`${web.url}/api/videos/${id}`, { method: 'DELETE', headers: authHeaders(web.url) });
  assert.equal(response.status, 204, await response.text());
}

// Kills node i (SIGKILL), runs `during`, and starts it again on its port and folder.
async function withNodeDown(i, during) {
  const { port } = nodes[i];
  await nodes[i].stop('SIGKILL');
  await during();
  await startNode(i, port);
}

async function waitUntil(what, predicate, timeoutMs = 90000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await predicate();
    if (last === true) return;
    await sleep(250);
  }
  assert.fail(`${what}: not so after ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

before(async () => {
  dir = await makeTempDir('dvs-storage-gc-');
  clip = await makeClip(path.join(dir, 'clip.mp4'), { width: 320, height: 240, seconds: 4 });
  for (let i = 0; i < 3; i++) await startNode(i);
});

after(async () => {
  await web?.stop();
  for (const node of nodes) await node?.stop();
  await killLeftoverServers();
  await removeDir(dir);
});

test('a delete while a node is down is finished by repair once it is back, and repair copies nothing back', async () => {
  // No background retries here: only repair may finish the delete.
  await startWebServer(3600);
  const video = await uploadReady('deleted-while-down.mp4');
  assert.deepEqual((await filesEverywhere(video.id)).map((n) => n > 0), [true, true, true]);
  await withNodeDown(1, () => deleteVideo(video.id));
  const left = await filesEverywhere(video.id);
  assert.equal(left[0], 0);
  assert.equal(left[2], 0);
  assert.ok(left[1] > 0, 'the node that was down still has its copies (else this test proves nothing)');

  // The node just restarted: until the web server's channel to it has
  // reconnected, repair reports it unlisted and exits non-zero, as an
  // operator would see; they run it again.
  let repair;
  await waitUntil('repair completes', async () => {
    repair = await admin('repair', adminAddress);
    return repair.code === 0 || repair.stderr;
  });
  assert.deepEqual(await filesEverywhere(video.id), [0, 0, 0]);
  // And again: nothing comes back.
  assert.equal((await admin('repair', adminAddress)).code, 0);
  assert.deepEqual(await filesEverywhere(video.id), [0, 0, 0]);
  assert.equal((await fetch(`${web.url}/api/videos/${video.id}`)).status, 404);
});

test('a delete while a node is down is finished in the background, without repair', async () => {
  await startWebServer(1);
  const video = await uploadReady('deleted-while-down-again.mp4');
  await withNodeDown(2, () => deleteVideo(video.id));
  assert.ok((await filesOnNode(nodes[2], video.id)).length > 0);
  await waitUntil('no node holds a file of the deleted video', async () => {
    const counts = await filesEverywhere(video.id);
    return counts.every((n) => n === 0) || counts;
  });
});

test('a rotted copy is found by the scrubber and re-copied with no read', async () => {
  await startWebServer(1);
  const video = await uploadReady('rots.mp4');
  const file = video.files.reduce((a, b) => (b.size > a.size ? b : a));
  const onDisk = path.join(nodes[0].dir, 'blobs', video.id, video.generation, file.name);
  assert.equal(sha256(await readFile(onDisk)), file.sha256);
  const handle = await open(onDisk, 'r+');
  const at = Math.floor(file.size / 2);
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0] ^= 0x10;
  await handle.write(byte, 0, 1, at);
  await handle.close();
  assert.notEqual(sha256(await readFile(onDisk)), file.sha256);

  await waitUntil('the rotted copy is whole again', async () => {
    try { return sha256(await readFile(onDisk)) === file.sha256 || 'still rotten'; } catch (e) { return e.message; }
  });
  assert.match(nodes[0].log(), /damaged/);
  assert.match(web.log(), /re-copying it from/);
});
