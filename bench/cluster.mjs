#!/usr/bin/env node
// Migration benchmark: three `dvs storage` servers and `dvs web ... nw`, a
// few uploaded videos, then `dvs admin add` of a fourth server, timed. Prints
// the files and bytes moved and the migration throughput.
//
//   node bench/cluster.mjs [--clips 2] [--seconds 30]
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { admin, makeClip, makeTempDir, removeDir, startStorage, startWeb, upload } from '../tests/integration/harness.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return Number(index > 0 ? process.argv[index + 1] : fallback);
}

const clips = option('clips', 2);
const seconds = option('seconds', 30);
const dir = await makeTempDir('dvs-bench-cluster-');
const nodes = [];
let web;
try {
  for (const name of ['s1', 's2', 's3', 's4']) {
    await mkdir(path.join(dir, name));
    nodes.push(await startStorage(path.join(dir, name)));
  }
  web = await startWeb(dir, ['sqlite', './data/metadata.db', 'nw',
    ['127.0.0.1:0', ...nodes.slice(0, 3).map((n) => n.address)].join(',')]);
  const adminAddress = web.log().match(/admin gRPC serving (\S+)/)[1];
  const clip = await readFile(await makeClip(path.join(dir, 'clip.mp4'), { seconds }));
  for (let i = 0; i < clips; i++) {
    const response = await upload(web.url, `clip-${i}.mp4`, clip, { query: '?wait=1' });
    if (response.status !== 200) throw new Error(`upload ${i}: ${response.status}`);
  }
  const before = await admin('status', adminAddress);
  const started = performance.now();
  const added = await admin('add', adminAddress, nodes[3].address);
  const elapsed = (performance.now() - started) / 1000;
  if (added.code !== 0) throw new Error(added.stderr);
  const after = await admin('status', adminAddress);
  const moved = after.output.nodes.find((n) => n.address === nodes[3].address).bytes_used;
  const stored = before.output.nodes.reduce((sum, n) => sum + n.bytes_used, 0);
  console.log('| stored before (all replicas) | files migrated | bytes onto the new node | time | throughput |');
  console.log('|---|---|---|---|---|');
  console.log(`| ${(stored / 1e6).toFixed(1)} MB | ${added.output.migrated_file_count} | ${(moved / 1e6).toFixed(1)} MB | ${elapsed.toFixed(2)} s | ${(moved / 1e6 / elapsed).toFixed(1)} MB/s |`);
} finally {
  if (web) await web.stop();
  for (const node of nodes) await node.stop();
  await removeDir(dir);
}
