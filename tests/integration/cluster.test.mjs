// The cluster shape with real processes: three `dvs storage` servers, a web
// server in `nw` mode, `dvs admin` changing the ring under read load, and
// storage servers killed, restarted and corrupted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { admin, makeClip, makeTempDir, removeDir, startStorage, startWeb, upload } from './harness.mjs';

let dir;
let web;
let adminAddress;
const nodes = [];
let video;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function storageDir(name) {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  return folder;
}

// Every file of the video, checked against its recorded SHA-256.
async function fetchAll() {
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${video.id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
  }
  return failures;
}

// A loop of reads until `done` resolves; returns the count of reads and failures.
async function readWhile(done) {
  let finished = false;
  done.finally(() => { finished = true; });
  let reads = 0;
  const failures = [];
  while (!finished) {
    for (const file of video.files) {
      const response = await fetch(`${web.url}/content/${video.id}/${file.name}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      reads++;
      if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
      if (finished) break;
    }
  }
  return { reads, failures };
}

async function expectExactPlacement() {
  const repair = await admin('repair', adminAddress);
  assert.equal(repair.code, 0, repair.stderr);
  const report = repair.output.repair || repair.output;
  assert.equal(report.copies_made, 0, `every key already on its replicas: ${repair.stdout}`);
  assert.equal(report.copies_deleted, 0, `no stray copies: ${repair.stdout}`);
}

before(async () => {
  dir = await makeTempDir('dvs-cluster-');
  for (const name of ['s1', 's2', 's3']) nodes.push(await startStorage(await storageDir(name)));
  // No memory cache: these tests are about what reads meet on the storage
  // nodes (failover, read repair), which a cache hit would skip.
  web = await startWeb(dir, ['--replicas', '2', '--cache-mb', '0', 'sqlite', './data/metadata.db', 'nw',
    ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
  adminAddress = web.log().match(/admin gRPC serving (\S+)/)[1];
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { width: 640, height: 360, seconds: 10 });
  const response = await upload(web.url, 'cluster clip.mp4', await readFile(clip), { query: '?wait=1' });
  assert.equal(response.status, 200);
  video = await response.json();
  assert.equal(video.state, 'ready', video.error);
});

after(async () => {
  if (web) await web.stop();
  for (const node of nodes) await node.stop('SIGKILL');
  await removeDir(dir);
});

test('an upload is stored on the cluster and every file is served', async () => {
  assert.deepEqual(await fetchAll(), []);
  const list = await admin('list', adminAddress);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual([...list.output.nodes].sort(), nodes.map((n) => n.address).sort());
  await expectExactPlacement();
});

test('with one storage server killed, every file is still served; restarted, its index is intact', async () => {
  const before = await admin('status', adminAddress);
  const victim = nodes[0];
  const blobsBefore = before.output.nodes.find((n) => n.address === victim.address).blob_count;
  assert.ok(blobsBefore > 0);
  await victim.stop('SIGKILL');
  assert.deepEqual(await fetchAll(), []);
  nodes[0] = await startStorage(victim.dir, victim.port);
  // The web server redials a node that was down within a few seconds.
  let revived;
  for (let i = 0; i < 50 && !revived?.healthy; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await admin('status', adminAddress);
    revived = after.output.nodes.find((n) => n.address === victim.address);
  }
  assert.ok(revived.healthy, JSON.stringify(revived));
  assert.equal(revived.blob_count, blobsBefore);
});

test('adding a fourth node while reads go on: no failed read, files migrated, exact placement', async () => {
  nodes.push(await startStorage(await storageDir('s4')));
  const adding = admin('add', adminAddress, nodes[3].address);
  const reading = readWhile(adding);
  const added = await adding;
  const { reads, failures } = await reading;
  assert.equal(added.code, 0, added.stderr);
  assert.ok(added.output.migrated_file_count > 0, added.stdout);
  assert.deepEqual(failures, []);
  assert.ok(reads > 0);
  await expectExactPlacement();
  assert.deepEqual(await fetchAll(), []);
});

test('removing a node while reads go on: no failed read, exact placement', async () => {
  const leaving = nodes[1];
  const removing = admin('remove', adminAddress, leaving.address);
  const { failures } = await readWhile(removing);
  const removed = await removing;
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(failures, []);
  const list = await admin('list', adminAddress);
  assert.ok(!list.output.nodes.includes(leaving.address));
  await expectExactPlacement();
  assert.deepEqual(await fetchAll(), []);
});

test('a restarted web server finds the ring as it was, whatever nodes seed it', async () => {
  const ring = (await admin('list', adminAddress)).output.nodes;
  assert.equal(await web.stop(), 0);
  // No memory cache: these tests are about what reads meet on the storage
  // nodes (failover, read repair), which a cache hit would skip.
  web = await startWeb(dir, ['--replicas', '2', '--cache-mb', '0', 'sqlite', './data/metadata.db', 'nw',
    `127.0.0.1:0,${nodes[0].address}`]);
  adminAddress = web.log().match(/admin gRPC serving (\S+)/)[1];
  assert.deepEqual((await admin('list', adminAddress)).output.nodes, ring);
  assert.deepEqual(await fetchAll(), []);
});

test('admin refuses what it cannot do, with a message and a non-zero exit', async () => {
  const present = await admin('add', adminAddress, nodes[0].address);
  assert.notEqual(present.code, 0);
  const unknown = await admin('remove', adminAddress, '127.0.0.1:1');
  assert.notEqual(unknown.code, 0);
  const unreachable = await admin('add', adminAddress, '127.0.0.1:1');
  assert.notEqual(unreachable.code, 0);
});

test('a corrupted blob on disk is served correctly from another replica and repaired', async () => {
  // Reads try the replicas in ring order, so only a damaged copy that a read
  // meets gets repaired: damage each holder's copy in turn until the first in
  // order is hit, putting back the ones a read never met.
  const target = video.files.find((f) => f.name.startsWith('chunk-'));
  const holders = [];
  for (const node of nodes) {
    const file = path.join(node.dir, 'blobs', video.id, video.generation, target.name);
    if (await readFile(file).catch(() => null)) holders.push(file);
  }
  assert.ok(holders.length >= 2, `the file has replicas: ${holders}`);
  let repaired = false;
  for (const file of holders) {
    const good = await readFile(file);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] ^= 0xff;
    await writeFile(file, bad);
    const response = await fetch(`${web.url}/content/${video.id}/${target.name}`);
    assert.equal(response.status, 200);
    assert.equal(sha256(Buffer.from(await response.arrayBuffer())), target.sha256, 'served correctly');
    for (let i = 0; i < 15 && !repaired; i++) {
      repaired = sha256(await readFile(file)) === target.sha256;
      if (!repaired) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (repaired) break;
    await writeFile(file, good);
  }
  assert.ok(repaired, 'the damaged replica was rewritten');
});
