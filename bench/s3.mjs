#!/usr/bin/env node
// S3 content beside local-folder content, in one run: `dvs web … fs DIR` and
// `dvs web … s3 URL` against OpenStack Swift with s3api on this machine
// (tests/integration/swift.mjs; Debian's python3-swift). Prints Markdown; with
// --out-dir, writes the fragment s3.md/s3.json for bench/run.sh's report.
//
//   node bench/s3.mjs [--duration 10] [--connections 16] [--clip-seconds 12]
//       [--upload-mb 100] [--out-dir DIR]
//
// upload  a lossless clip of about --upload-mb MB (so the S3 source goes up
//         in parts), from the start of the POST until the video is ready,
//         and the POST alone
// serve   wrk on the ladder segment nearest 1.5 MB: fs and s3 without the
//         memory cache (--cache-mb 0), and s3 with it (the default)
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeClip } from '../tests/integration/harness.mjs';
import { startSwift } from '../tests/integration/swift.mjs';
import { segmentNear, startWeb, uploadAndWait } from './lib/dvs.mjs';
import { commandsBlock, fixed, table } from './lib/format.mjs';
import { onCleanup, removeLater, stopAll } from './lib/procs.mjs';
import { runWrk } from './lib/wrk.mjs';

const run = promisify(execFile);

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const seconds = Number(option('duration', '10'));
const connections = Number(option('connections', '16'));
const clipSeconds = Number(option('clip-seconds', '12'));
const uploadMb = Number(option('upload-mb', '100'));
const outDir = option('out-dir', null);
const BUCKET = 'dvs-bench';

// A lossless 720p clip of testsrc2 grows about 2.3 MB a second.
async function makeLosslessClip(file, megabytes) {
  const duration = Math.max(2, Math.round(megabytes / 2.3));
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    `testsrc2=size=1280x720:rate=30:duration=${duration}`, '-c:v', 'libx264', '-preset',
    'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', file]);
  return file;
}

async function timedUpload(web, file, name) {
  const form = new FormData();
  form.append('file', new Blob([await readFile(file)]), name);
  const started = performance.now();
  const response = await fetch(`${web.url}/upload`, {
    method: 'POST', body: form, headers: { Accept: 'application/json' },
  });
  const posted = performance.now();
  if (response.status !== 202) throw new Error(`upload of ${name}: ${response.status} ${await response.text()}`);
  const { id } = await response.json();
  for (;;) {
    const video = await (await fetch(`${web.url}/api/videos/${id}`)).json();
    if (video.state === 'ready') {
      return { postS: (posted - started) / 1000, readyS: (performance.now() - started) / 1000 };
    }
    if (video.state === 'failed') throw new Error(`${id} failed: ${video.error}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), 'dvs-bench-s3-'));
  removeLater(dir);
  const store = await startSwift(path.join(dir, 'swift'));
  onCleanup(() => store.stop());
  await store.createBucket(BUCKET);
  const env = { DVS_S3_ACCESS_KEY: store.accessKey, DVS_S3_SECRET_KEY: store.secretKey };
  const s3Backend = ['s3', `${store.endpoint}/${BUCKET}/bench`];
  const targets = [
    { name: 'fs, no cache', backends: ['fs', path.join(dir, 'fs', 'content')], flags: ['--cache-mb', '0'] },
    { name: 's3, no cache', backends: s3Backend, flags: ['--cache-mb', '0'] },
    { name: 's3, memory cache', backends: s3Backend, flags: [] },
  ];
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: clipSeconds });
  const big = await makeLosslessClip(path.join(dir, 'lossless.mp4'), uploadMb);
  const bigBytes = (await stat(big)).size;
  const uploadRows = [];
  const serveRows = [];
  for (const [i, target] of targets.entries()) {
    const web = await startWeb(path.join(dir, `web-${i}`),
      ['sqlite', path.join(dir, `web-${i}`, 'metadata.db'), ...target.backends],
      { flags: target.flags, env });
    if (i < 2) {
      const timing = await timedUpload(web, big, `big-${i}.mp4`);
      uploadRows.push([target.name.split(',')[0], fixed(bigBytes / 1e6, 1), fixed(timing.postS, 2),
        fixed(bigBytes / 1e6 / timing.postS, 0), fixed(timing.readyS, 1)]);
    }
    const video = await uploadAndWait(web.url, clip, `clip-${i}.mp4`);
    const segment = segmentNear(video, 1.5e6);
    const result = await runWrk({ url: `${web.url}/content/${video.id}/${segment.name}`, connections, seconds },
      { serverPids: [web.child.pid] });
    serveRows.push([target.name, fixed(segment.size / 1e6, 2), connections, fixed(result.rps, 0),
      fixed((result.rps * segment.size) / 1e6, 0), fixed(result.latencyAvgMs, 1),
      fixed(result.serverCpuPercent, 0), String(result.non2xx ?? 0)]);
    await web.stop();
  }
  const text = [
    `Measured ${new Date().toISOString()}. One \`dvs web\` at a time (SQLite metadata), Swift 2.30 with s3api`,
    'as four local processes (proxy, account, container, object; 1 replica) on the same 2 cores.',
    '',
    '**Upload** (a lossless clip: the S3 source goes up in parts; ready = the whole ladder stored):',
    '',
    table(['content', 'MB', 'POST s', 'POST MB/s', 'POST to ready s'], uploadRows),
    '',
    `**Serving** (wrk, ${connections} connections, ${seconds} s, the ladder segment nearest 1.5 MB):`,
    '',
    table(['content', 'segment MB', 'connections', 'requests/s', 'MB/s', 'avg ms', 'dvs CPU %', 'non-2xx'], serveRows),
    '',
    commandsBlock([`node bench/s3.mjs --duration ${seconds} --connections ${connections} --clip-seconds ${clipSeconds} --upload-mb ${uploadMb}`]),
  ].join('\n');
  console.log(text);
  if (outDir) {
    await writeFile(path.join(outDir, 's3.md'), text);
    await writeFile(path.join(outDir, 's3.json'), JSON.stringify({ title: 'S3 content', targets: [], failed: false }));
  }
}

main().then(() => stopAll(), async (error) => {
  console.error(error);
  await stopAll();
  process.exitCode = 1;
});
