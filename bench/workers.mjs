#!/usr/bin/env node
// Workers benchmark: the time from the end of an upload to the complete
// ladder of a long video (720p testsrc2 + a tone, 180 s by default), with one
// and then two `dvs worker` processes sharing its tasks (one per rendition,
// the audio, the packaging). A local cluster: one etcd member, three
// `dvs storage` servers and a `dvs web --jobs 0` (which transcodes nothing),
// all on 127.0.0.1. Prints a Markdown table, then each task's time and the
// worker that ran it.
//
//   node bench/workers.mjs [--seconds 180] [--size 1280x720] [--workers 1,2] [--jobs 1]
//
// --size: the clip's; its ladder is it and each standard rung below it.
// --jobs: slots per worker. DVS_BINARY picks the binary (build/dvs).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage, startWeb, startWorker, upload, waitForVideo } from '../tests/integration/harness.mjs';
import { startEtcdCluster } from '../tests/integration/etcd_cluster.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const seconds = Number(option('seconds', '180'));
const counts = option('workers', '1,2').split(',').map(Number);
const slots = option('jobs', '1');
const [width, height] = option('size', '1280x720').split('x').map(Number);
const json = { headers: { Accept: 'application/json' } };

// "video X: part NAME made (S s)" and "video X is ready (S s)" lines of a worker's log.
function taskTimes(log, id, worker) {
  const times = [];
  for (const match of log.matchAll(new RegExp(`video ${id}: part (\\S+) made \\(([\\d.]+) s\\)`, 'g'))) {
    times.push({ task: match[1], seconds: Number(match[2]), worker });
  }
  for (const match of log.matchAll(new RegExp(`video ${id} is ready \\(([\\d.]+) s\\)`, 'g'))) {
    times.push({ task: 'package', seconds: Number(match[1]), worker });
  }
  return times;
}

const dir = await makeTempDir('dvs-bench-workers-');
let etcd;
const rows = [];
const tasks = [];
try {
  etcd = await startEtcdCluster(path.join(dir, 'etcd'), 1);
  const nodes = [];
  for (const name of ['s1', 's2', 's3']) nodes.push(await startStorage(path.join(dir, name)));
  const content = ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',');
  await mkdir(path.join(dir, 'web'));
  const web = await startWeb(path.join(dir, 'web'), ['--jobs', '0', '--replicas', '3',
    'etcd', etcd.endpoints(), 'nw', content]);
  const clip = await makeClip(path.join(dir, 'long.mp4'), { width, height, seconds });
  const bytes = await readFile(clip);
  for (const count of counts) {
    const workers = [];
    for (let i = 0; i < count; i++) {
      workers.push(await startWorker(path.join(dir, `w${count}-${i}`),
        ['--jobs', slots, 'etcd', etcd.endpoints(), 'nw', content]));
    }
    const id = `long-${count}`;
    const response = await upload(web.url, `${id}.mp4`, bytes, json);
    if (response.status !== 202) throw new Error(`upload of ${id}: ${response.status} ${await response.text()}`);
    const uploaded = performance.now();
    const video = await waitForVideo(web.url, id, (v) => v.state !== 'processing', 3600000);
    if (video.state !== 'ready') throw new Error(`${id} ended ${video.state}: ${video.error}`);
    const ready = performance.now();
    const run = workers.flatMap((w, i) => taskTimes(w.log(), id, `${count} worker(s): #${i + 1}`));
    tasks.push(...run);
    const renditions = run.filter((t) => t.task.startsWith('video-')).length;
    rows.push({ count, megabytes: bytes.length / 1e6, renditions, ready: ready - uploaded });
    for (const worker of workers) await worker.stop();
  }
  await web.stop();
} finally {
  await killLeftoverServers();
  if (etcd) await etcd.stop();
  await removeDir(dir);
}

console.log('| workers (slots each) | video | upload → ladder complete | speed-up |');
console.log('|---|---|---|---|');
for (const row of rows) {
  const speedup = (rows[0].ready / row.ready).toFixed(2);
  console.log(`| ${row.count} (${slots}) | ${seconds} s ${height}p H.264/AAC, ${row.megabytes.toFixed(1)} MB, ${row.renditions} renditions | ${(row.ready / 1000).toFixed(1)} s | ${speedup}x |`);
}
console.log('');
console.log('| run: worker | task | time |');
console.log('|---|---|---|');
for (const task of tasks) console.log(`| ${task.worker} | ${task.task} | ${task.seconds.toFixed(1)} s |`);
