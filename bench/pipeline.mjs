#!/usr/bin/env node
// Pipeline benchmark: for 720p H.264/AAC clips of 30 s and 5 min, the time
// from the end of the upload to a playable manifest, and to the complete
// ladder. Runs the real `dvs web` (build/dvs) in a temp folder.
//
//   node bench/pipeline.mjs [--durations 30,300] [--runs 1]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeClip, makeTempDir, removeDir, startWeb, upload } from '../tests/integration/harness.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const durations = option('durations', '30,300').split(',').map(Number);
const runs = Number(option('runs', '1'));

async function waitFor(url, id, predicate) {
  for (;;) {
    const video = await (await fetch(`${url}/api/videos/${id}`)).json();
    if (video.state === 'failed') throw new Error(`${id} failed: ${video.error}`);
    if (predicate(video)) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measure(web, bytes, id) {
  const started = performance.now();
  const response = await upload(web.url, `${id}.mp4`, bytes);
  if (response.status !== 303) throw new Error(`upload of ${id}: ${response.status}`);
  const uploaded = performance.now();
  const playable = await waitFor(web.url, id, (v) => v.playable);
  const ready = await waitFor(web.url, id, (v) => v.state === 'ready');
  return { upload: uploaded - started, playable: playable - uploaded, ready: ready - uploaded };
}

const dir = await makeTempDir('dvs-bench-');
const web = await startWeb(dir);
const rows = [];
try {
  for (const seconds of durations) {
    const clip = await makeClip(path.join(dir, `clip-${seconds}.mp4`), { seconds });
    const bytes = await readFile(clip);
    for (let run = 0; run < runs; run++) {
      const result = await measure(web, bytes, `clip-${seconds}s-${run}`);
      rows.push({ seconds, megabytes: bytes.length / 1e6, ...result });
    }
  }
} finally {
  await web.stop();
  await removeDir(dir);
}

console.log('| clip | size | upload | upload → playable | upload → ladder complete |');
console.log('|---|---|---|---|---|');
for (const row of rows) {
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`| ${row.seconds} s 720p H.264/AAC | ${row.megabytes.toFixed(1)} MB | ${s(row.upload)} | ${s(row.playable)} | ${s(row.ready)} |`);
}
