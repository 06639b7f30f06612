#!/usr/bin/env node
// Serving benchmark: the real `dvs web` (build/dvs, or $DVS_BINARY) against
// nginx on the same files of a real uploaded video, and under many viewers,
// and its memory during a large upload. Prints Markdown; with --out-dir,
// writes one fragment per section (SECTION.md and SECTION.json) for
// bench/run.sh's report.
//
//   node bench/serve.mjs [--only serve,viewers,upload,profile] [--duration 10]
//       [--connections 16,256] [--repeat 1] [--viewers 1000] [--upload-gb 2]
//       [--clip-seconds 12] [--out-dir DIR]
//
// Sections:
//   serve    wrk at each --connections against nginx, dvs fs and dvs cluster
//            (3 storage servers), for a ~1.5 MB segment and the manifest
//   viewers  --viewers keep-alive connections on dvs fs: mixed, manifest only,
//            segment only; errors and latency percentiles
//   upload   dvs web's RSS (every 100 ms) during a --upload-gb GiB upload
//   profile  perf (dwarf call graphs) of dvs web under wrk
// Needs wrk, nginx, ffmpeg (and perf for `profile`); bench/run.sh
// installs them.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeClip } from '../tests/integration/harness.mjs';
import { dvsBinary, fileNamed, segmentNear, startStorage, startWeb, uploadAndWait } from './lib/dvs.mjs';
import { bytes, commandsBlock, fixed, met, ms, table } from './lib/format.mjs';
import { startNginx } from './lib/nginx.mjs';
import { openFilesLimit, sampleRss, statusKb } from './lib/proc_stats.mjs';
import { profileUnderLoad } from './lib/profile.mjs';
import { removeLater, stopAll } from './lib/procs.mjs';
import { streamUpload } from './lib/upload.mjs';
import { paceViewers } from './lib/viewers.mjs';
import { runWrk, writeCycleScript } from './lib/wrk.mjs';

const run = promisify(execFile);

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const allSections = ['serve', 'viewers', 'upload', 'profile'];
const only = option('only', allSections.join(',')).split(',').filter((s) => allSections.includes(s));
const seconds = Number(option('duration', '10'));
const connectionCounts = option('connections', '16,256').split(',').map(Number);
const viewers = Number(option('viewers', '1000'));
// bench/paced_viewers.cc, built with the project (bench/run.sh builds it when missing).
const pacedClient = option('paced-client', process.env.DVS_PACED_CLIENT || 'build/bench/paced_viewers');
const uploadBytes = Math.round(Number(option('upload-gb', '2')) * 2 ** 30);
const clipSeconds = Number(option('clip-seconds', '12'));
const repeat = Math.max(1, Number(option('repeat', '1')));
const outDir = option('out-dir', null);
const segmentTarget = 1.5e6;

// Targets of issue #8: dvs requests/s as a share of nginx's.
const ratioTargets = { fs: { segment: 0.9, manifest: 0.9 }, cluster: { segment: 0.6, manifest: 0.5 } };
const manifestP99TargetMs = 100;
const uploadRssTargetMb = 64;

const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');

// Whether this build of `dvs web` has `flag` (the benchmark runs on older builds too).
async function webHasFlag(flag) {
  const { stdout } = await run(dvsBinary, ['web', '--help']);
  return stdout.includes(flag);
}
const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

// Lazily built shared state: a clip, dvs in fs mode with it uploaded, nginx
// on the same folder, the cluster with the same clip.
class Setup {
  constructor(work) { this.work = work; this.cache = new Map(); }

  once(key, build) {
    if (!this.cache.has(key)) this.cache.set(key, build());
    return this.cache.get(key);
  }

  clip() {
    return this.once('clip', () => makeClip(path.join(this.work, 'clip.mp4'), { seconds: clipSeconds }));
  }

  fs() {
    return this.once('fs', async () => {
      const dir = path.join(this.work, 'fs');
      const contentRoot = path.join(dir, 'content');
      const web = await startWeb(dir, ['sqlite', path.join(dir, 'metadata.db'), 'fs', contentRoot]);
      const video = await uploadAndWait(web.url, await this.clip(), 'bench clip.mp4');
      const files = { segment: segmentNear(video, segmentTarget), manifest: fileNamed(video, 'manifest.mpd') };
      for (const file of Object.values(files)) {
        const onDisk = await stat(path.join(contentRoot, video.id, video.generation, file.name));
        if (onDisk.size !== file.size) throw new Error(`${file.name}: ${onDisk.size} bytes on disk, ${file.size} recorded`);
      }
      return { name: 'dvs fs', web, video, files, contentRoot, dir, pids: () => [web.pid] };
    });
  }

  nginx() {
    return this.once('nginx', async () => {
      const fs = await this.fs();
      const nginx = await startNginx(path.join(this.work, 'nginx'),
        { [fs.video.id]: path.join(fs.contentRoot, fs.video.id, fs.video.generation) });
      // Same paths, same bytes: what both answer must match what dvs recorded.
      for (const file of Object.values(fs.files)) {
        const target = `/content/${fs.video.id}/${file.name}`;
        for (const base of [fs.web.url, nginx.url]) {
          const response = await fetch(base + target);
          const body = Buffer.from(await response.arrayBuffer());
          if (response.status !== 200 || sha256(body) !== file.sha256) {
            throw new Error(`${base}${target}: ${response.status}, not the recorded bytes`);
          }
        }
      }
      return { name: 'nginx', ...nginx, video: fs.video, files: fs.files, pids: nginx.pids };
    });
  }

  cluster() {
    return this.once('cluster', async () => {
      const dir = path.join(this.work, 'cluster');
      const nodes = [];
      for (const name of ['s1', 's2', 's3']) nodes.push(await startStorage(path.join(dir, name)));
      const web = await startWeb(dir, ['sqlite', path.join(dir, 'metadata.db'), 'nw',
        ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
      const video = await uploadAndWait(web.url, await this.clip(), 'bench clip.mp4');
      const fs = await this.fs();
      // The same rendition and index as the fs run's, when the ladder matches.
      const sameName = (name) => video.files.find((f) => f.name === name);
      const files = {
        segment: sameName(fs.files.segment.name) || segmentNear(video, segmentTarget),
        manifest: fileNamed(video, 'manifest.mpd'),
      };
      for (const file of Object.values(files)) {
        const response = await fetch(`${web.url}/content/${video.id}/${file.name}`);
        const body = Buffer.from(await response.arrayBuffer());
        if (response.status !== 200 || sha256(body) !== file.sha256) throw new Error(`cluster ${file.name}: ${response.status}`);
      }
      return {
        name: 'dvs cluster', web, nodes, video, files, dir,
        pids: () => [web.pid, ...nodes.map((n) => n.pid)],
      };
    });
  }

  // A second web server on the same cluster and metadata with its content
  // cache off: what a request costs when the file is not hot. Null when this
  // build has no cache.
  clusterUncached() {
    return this.once('cluster-uncached', async () => {
      if (!(await webHasFlag('--cache-mb'))) return null;
      const cluster = await this.cluster();
      const web = await startWeb(path.join(this.work, 'cluster-uncached'),
        ['sqlite', path.join(cluster.dir, 'metadata.db'), 'nw', ['127.0.0.1:0', ...cluster.nodes.map((n) => n.address)].join(',')],
        { flags: ['--cache-mb', '0'] });
      return { ...cluster, name: 'dvs cluster, cache off', web, pids: () => [web.pid, ...cluster.nodes.map((n) => n.pid)] };
    });
  }
}

// Server CPU time per answered request, in ms.
function cpuPerRequest(result) {
  if (!result.serverCpuPercent || !result.rps) return '–';
  return ms((result.serverCpuPercent * 10) / result.rps);
}

const urlOf = (server, kind) => `${server.web ? server.web.url : server.url}/content/${server.video.id}/${server.files[kind].name}`;

function measuredLine() {
  return `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; wrk runs of ${seconds} s each.`;
}

// Section 1: requests/s of dvs fs, dvs cluster and nginx on the same files.
async function serveSection(setup) {
  const uncached = await setup.clusterUncached();
  const servers = [await setup.nginx(), await setup.fs(), await setup.cluster(), ...(uncached ? [uncached] : [])];
  const results = [];
  for (const kind of ['segment', 'manifest']) {
    for (const server of servers) {  // warm-up: page cache, connections, SQLite
      await runWrk({ url: urlOf(server, kind), connections: 16, seconds: 2 });
    }
    for (const connections of connectionCounts) {
      // Interleaved repeats; the run with the median requests/s stands for each.
      const runs = new Map(servers.map((server) => [server, []]));
      for (let round = 0; round < repeat; round++) {
        for (const server of servers) {
          const result = await runWrk({ url: urlOf(server, kind), connections, seconds }, { serverPids: server.pids() });
          runs.get(server).push(result);
          console.error(`serve: ${server.name} ${kind} c${connections}: ${result.rps.toFixed(0)} req/s`);
        }
      }
      for (const server of servers) {
        const sorted = runs.get(server).sort((a, b) => a.rps - b.rps);
        const median = sorted[Math.floor((sorted.length - 1) / 2)];
        results.push({ server: server.name, kind, file: server.files[kind], ...median,
          allRps: sorted.map((r) => Math.round(r.rps)), commands: sorted.map((r) => r.command) });
      }
    }
  }
  const rows = [];
  const targets = [];
  for (const result of results) {
    const nginx = results.find((r) => r.server === 'nginx' && r.kind === result.kind && r.connections === result.connections);
    const ratio = result.server === 'nginx' ? null : result.rps / nginx.rps;
    const mode = result.server === 'dvs fs' ? 'fs' : result.server === 'dvs cluster' ? 'cluster' : null;
    const goal = mode ? ratioTargets[mode][result.kind] : null;
    const informational = result.server === 'dvs cluster, cache off';
    rows.push([result.server, `${result.kind} (${bytes(result.file.size)})`, result.connections,
      repeat > 1 ? `${fixed(result.rps)} (${result.allRps.join(', ')})` : fixed(result.rps), fixed((result.rps * result.file.size) / 1e6), ms(result.p50), ms(result.p99),
      result.socketErrors + result.non2xx, `${fixed(result.serverCpuPercent)} %`, cpuPerRequest(result),
      ratio === null ? '1' : `${ratio.toFixed(2)}×`,
      goal !== null ? `≥ ${goal}× ${met(ratio >= goal)}` : informational ? 'for comparison' : '']);
    if (goal !== null) {
      const cpuRatio = (result.serverCpuPercent / result.rps) / (nginx.serverCpuPercent / nginx.rps);
      targets.push({ what: `${result.server} ${result.kind}, ${result.connections} connections`,
        measured: `${ratio.toFixed(2)}× nginx (${fixed(result.rps)} vs ${fixed(nginx.rps)} req/s; ` +
          `CPU per request ${cpuRatio.toFixed(1)}× nginx's)`,
        target: `≥ ${goal}× nginx`, met: ratio >= goal });
    }
  }
  const fs = await setup.fs();
  const nginx = await setup.nginx();
  const markdown = [
    measuredLine(),
    '',
    `The same clip (${clipSeconds} s 1280×720 H.264/AAC test pattern made by ffmpeg) uploaded to dvs in fs mode ` +
    `and to dvs in cluster mode (3 \`dvs storage\`, replicas 3); nginx serves dvs's fs content folder at the same ` +
    `paths (\`location /content/ { alias CONTENT/; }\`), and both answer the bytes dvs recorded (SHA-256 checked). ` +
    `Files: \`${fs.files.segment.name}\` and \`${fs.files.manifest.name}\`. "× nginx" compares requests/s at the ` +
    `same connection count; server CPU is the server processes' CPU time over the run (100 % = one core; ` +
    `wrk shares the same 2 cores; for the cluster, the web server and the 3 storage servers together), and ` +
    `CPU/req that time per answered request — the figure least disturbed by other work on the machine. ` +
    `Errors are socket errors plus non-2xx answers.` +
    (uncached ? ` "dvs cluster, cache off" is a second \`dvs web\` on the same storage servers and metadata ` +
      `with \`--cache-mb 0\`: the cost of a file that is not in the web server's memory (the other dvs rows ` +
      `serve one hot file again and again, so with the default cache they measure the cache).` : '') +
    (repeat > 1 ? ` Each row is the median of ${repeat} runs, interleaved across the servers (all runs in brackets).` : ''),
    '',
    table(['server', 'file', 'conns', 'req/s', 'MB/s', 'p50', 'p99', 'errors', 'server CPU', 'CPU/req', '× nginx', 'target'], rows),
    '',
    commandsBlock([
      `dvs ${fs.web.args.join(' ')}`, nginx.command,
      ...(await setup.cluster()).nodes.map((n) => `dvs ${n.args.join(' ')}`),
      `dvs ${(await setup.cluster()).web.args.join(' ')}`,
      ...(uncached ? [`dvs ${uncached.web.args.join(' ')}`] : []),
      ...results.flatMap((r) => r.commands)], 'exact commands (temp paths as they were)'),
    '',
    '<details><summary>nginx config</summary>\n\n```nginx\n' + nginx.config + '```\n\n</details>',
  ].join('\n');
  return { title: 'Serving: dvs against nginx', markdown, targets, results: results.map(({ raw, ...r }) => r) };
}

// Section 2: many keep-alive viewers on dvs fs.
async function viewersSection(setup) {
  const limit = openFilesLimit();
  if (limit < viewers * 2 + 100) {
    throw new Error(`open files limit ${limit} is too low for ${viewers} connections; raise ulimit -n (bench/run.sh does)`);
  }
  const fs = await setup.fs();
  const nginx = await setup.nginx();
  const paths = (server) => ['manifest', 'segment'].map((k) => `/content/${server.video.id}/${server.files[k].name}`);
  const script = await writeCycleScript(setup.work, 'manifest-segment', paths(fs));
  const runs = [
    { server: fs, what: 'manifest + segment, alternating', options: { url: fs.web.url, script } },
    { server: fs, what: 'manifest only', kind: 'manifest', options: { url: urlOf(fs, 'manifest') } },
    { server: fs, what: 'segment only', kind: 'segment', options: { url: urlOf(fs, 'segment') } },
    { server: nginx, what: 'manifest + segment, alternating', options: { url: nginx.url, script } },
    { server: nginx, what: 'manifest only', options: { url: urlOf(nginx, 'manifest') } },
    { server: nginx, what: 'segment only', options: { url: urlOf(nginx, 'segment') } },
  ];
  const results = [];
  for (const item of runs) {
    const logBefore = item.server.web ? item.server.web.log().length : 0;
    const result = await runWrk({ ...item.options, connections: viewers, seconds },
      { serverPids: item.server.pids(), rssPid: item.server.web ? item.server.web.pid : item.server.pids()[1] });
    const complaints = item.server.web
      ? item.server.web.log().slice(logBefore).split('\n').filter((l) => /\[(warning|error|critical)\]/.test(l)) : [];
    results.push({ ...item, result, complaints });
    console.error(`viewers: ${item.server.name} ${item.what}: ${result.rps.toFixed(0)} req/s, p99 ${ms(result.p99)}, errors ${result.socketErrors + result.non2xx}`);
    await sleep(2000);  // let closed connections leave TIME_WAIT's busiest moment
  }
  const targets = [];
  const rows = results.map(({ server, what, kind, result, complaints }) => {
    const e = result.errors;
    const isDvs = Boolean(server.web);
    const errorsOk = result.socketErrors + result.non2xx === 0;
    const notes = [];
    if (isDvs) {
      notes.push(`errors ${met(errorsOk)}`);
      const e = result.errors;
      const measured = errorsOk ? '0' : `${result.socketErrors} socket errors (connect ${e.connect}, read ${e.read}, ` +
        `write ${e.write}, timeout ${e.timeout}), ${result.non2xx} non-2xx`;
      targets.push({ what: `${viewers} viewers, ${what}: errors`, measured, target: '0', met: errorsOk });
    }
    if (isDvs && kind === 'manifest') {
      const ok = result.p99 !== null && result.p99 < manifestP99TargetMs && result.requests > 0;
      notes.push(`p99 < ${manifestP99TargetMs} ms ${met(ok)}`);
      targets.push({ what: `${viewers} viewers, manifest p99`, measured: ms(result.p99), target: `< ${manifestP99TargetMs} ms`, met: ok });
    }
    if (complaints.length) notes.push(`${complaints.length} warnings in its log`);
    return [server.name, what, fixed(result.rps), ms(result.p50), ms(result.p90), ms(result.p99), ms(result.latencyMaxMs),
      `${e.connect}/${e.read}/${e.write}/${e.timeout}`, result.non2xx, `${fixed(result.serverRssPeakMb)} MB`,
      `${fixed(result.serverCpuPercent)} %`, notes.join('; ')];
  });
  const paced = [];
  for (const server of [fs, nginx]) {
    const result = await paceViewers({
      client: pacedClient, manifestUrl: urlOf(server, 'manifest'), manifestBytes: server.files.manifest.size,
      segmentUrl: urlOf(server, 'segment'), segmentBytes: server.files.segment.size,
      viewers, seconds: Math.max(seconds, 12) });
    paced.push({ server, result });
    console.error(`viewers: paced on ${server.name}: manifest p99 ${ms(result.manifest.p99)}, segment p99 ${ms(result.segment.p99)}`);
    await sleep(2000);
  }
  const pacedRows = paced.flatMap(({ server, result }) => ['manifest', 'segment'].map((kind) => {
    const r = result[kind];
    const notes = [];
    if (server.web) {
      const errorsOk = r.errors + r.bad === 0;
      notes.push(`errors ${met(errorsOk)}`);
      targets.push({ what: `${viewers} paced viewers, ${kind}: errors`, measured: String(r.errors + r.bad), target: '0', met: errorsOk });
      if (kind === 'manifest') {
        const ok = r.p99 !== null && r.p99 < manifestP99TargetMs;
        notes.push(`p99 < ${manifestP99TargetMs} ms ${met(ok)}`);
        targets.push({ what: `${viewers} paced viewers, manifest p99`, measured: ms(r.p99), target: `< ${manifestP99TargetMs} ms`, met: ok });
      }
    }
    return [server.name, kind, r.requests, ms(r.p50), ms(r.p90), ms(r.p99), ms(r.max),
      `${r.errors}${r.errorKinds.length ? ` (${r.errorKinds.join(', ')})` : ''}`, r.bad, notes.join('; ')];
  }));
  const complaints = results.flatMap((r) => r.complaints).slice(0, 10);
  const markdown = [
    measuredLine(),
    '',
    `${viewers} concurrent keep-alive connections (wrk -t2 -c${viewers}, timeout 5 s); "alternating" cycles ` +
    `manifest and segment per wrk thread (a Lua script). Latency percentiles are wrk's (requests that time out ` +
    `count as errors, not in the percentiles). Socket errors are connect/read/write/timeout; wrk's "timeout" ` +
    `counts answers still missing after 5 s (checked every 2 s, so one slow answer can count more than once), ` +
    `not closed connections. RSS peak: the ` +
    `server's VmRSS sampled every 100 ms during the run (nginx: its worker).`,
    '',
    table(['server', 'what', 'req/s', 'p50', 'p90', 'p99', 'max', 'socket errors c/r/w/t', 'non-2xx', 'RSS peak', 'server CPU', 'target'], rows),
    '',
    `**At a player's pace** (bench/lib/viewers.mjs): ${viewers} viewers, each with its own keep-alive ` +
    `connection, start at random within 4 s, fetch the manifest, then the segment every 4 s (the segment ` +
    `length; ${bytes(fs.files.segment.size)} every 4 s is a ${fixed((fs.files.segment.size * 8) / 4e6, 1)} Mbit/s ` +
    `stream) for ${Math.max(seconds, 12)} s. Latency runs from the moment a request is due (connect included ` +
    `for the first) to its last byte, measured by bench/paced_viewers.cc (one thread, epoll; a node client ` +
    `was its own bottleneck, see §7); ` +
    `"wrong" counts answers that are not 200 with the full length.`,
    '',
    table(['server', 'file', 'requests', 'p50', 'p90', 'p99', 'max', 'errors', 'wrong', 'target'], pacedRows),
    ...(complaints.length ? ['', 'dvs log lines during these runs (first 10):', '', '```', ...complaints, '```'] : []),
    '',
    commandsBlock([`ulimit -n ${limit}`, ...results.map((r) => r.result.command), ...paced.map((p) => p.result.command)]),
  ].join('\n');
  return { title: `Many viewers: ${viewers} keep-alive connections`, markdown, targets,
    results: { wrk: results.map((r) => ({ server: r.server.name, what: r.what, ...r.result, raw: undefined, complaints: r.complaints })),
      paced: paced.map((p) => ({ server: p.server.name, ...p.result })) } };
}

async function folderBytes(dir) {
  let total = 0;
  let entries = [];
  try { entries = await readdir(dir, { withFileTypes: true, recursive: true }); } catch { return 0; }
  for (const entry of entries) {
    if (entry.isFile()) total += (await stat(path.join(entry.path ?? entry.parentPath, entry.name))).size;
  }
  return total;
}

// Section 3: dvs web's memory while a large upload streams through it.
async function uploadSection(setup) {
  const dir = path.join(setup.work, 'upload');
  const web = await startWeb(dir, ['sqlite', path.join(dir, 'metadata.db'), 'fs', path.join(dir, 'content')]);
  await fetch(`${web.url}/api/videos`);  // one request served before the baseline
  await sleep(1000);
  const baselineKb = statusKb(web.pid, 'VmRSS');
  const hwmBeforeKb = statusKb(web.pid, 'VmHWM');
  const sampler = sampleRss(web.pid, 100);
  // When the spooled file in the work dir has every byte, dvs has the body.
  const started = performance.now();
  let receivedAt = null;
  let watching = true;
  const watcher = (async () => {
    while (watching && receivedAt === null) {
      if (await folderBytes(path.join(dir, 'work')) >= uploadBytes) receivedAt = performance.now();
      await sleep(100);
    }
  })();
  const answer = await streamUpload(web.url, 'rss-probe.mp4', uploadBytes);
  watching = false;
  await watcher;
  const { samples, peakKb } = sampler.stop();
  const receivedSeconds = receivedAt === null ? null : (receivedAt - started) / 1000;
  const hwmAfterKb = statusKb(web.pid, 'VmHWM');
  const workBytes = await folderBytes(path.join(dir, 'work'));
  await web.stop();
  const growthMb = (peakKb - baselineKb) / 1024;
  const hwmGrowthMb = hwmAfterKb > hwmBeforeKb ? (hwmAfterKb - baselineKb) / 1024 : growthMb;
  const worst = Math.max(growthMb, hwmGrowthMb);
  const ok = worst <= uploadRssTargetMb;
  const mbps = uploadBytes / 1e6 / (receivedSeconds ?? answer.totalSeconds);
  const markdown = [
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}.`,
    '',
    `A fresh \`dvs web\` (fs mode) receives one multipart upload of ${(uploadBytes / 2 ** 30).toFixed(2)} GiB ` +
    `(${uploadBytes} bytes of random data, generated while it is sent: one 1 MiB block repeated) from a node ` +
    `client over loopback. It is not a video, so after the body is in dvs answers 422 (answer here: ` +
    `${answer.status} ${answer.body.slice(0, 120).replace(/\s+/g, ' ')}). RSS is VmRSS from /proc every 100 ms ` +
    `(${samples.length} samples); VmHWM is the kernel's high-water mark, which catches a peak between samples ` +
    `(growth = the larger of the two over the baseline; MB = MiB here). "Body in" is when the spooled file in ` +
    `dvs's work dir (polled every 100 ms) held every byte; the body rate is over that time (or until the ` +
    `answer when the file was not seen complete). "Work dir after" should be 0: a rejected upload keeps nothing.`,
    '',
    table(['RSS before', 'RSS peak (sampled)', 'VmHWM after', 'growth', 'client sent all in', 'body in after',
      'body rate', 'answer after', 'work dir after', 'target'], [[
      `${fixed(baselineKb / 1024, 1)} MB`, `${fixed(peakKb / 1024, 1)} MB`, `${fixed(hwmAfterKb / 1024, 1)} MB`,
      `${fixed(worst, 1)} MB`, `${answer.bodySeconds.toFixed(2)} s`,
      receivedSeconds === null ? 'not seen' : `${receivedSeconds.toFixed(2)} s`, `${fixed(mbps)} MB/s`,
      `${answer.totalSeconds.toFixed(2)} s`, bytes(workBytes), `≤ ${uploadRssTargetMb} MB ${met(ok)}`]]),
    '',
    commandsBlock([`dvs ${web.args.join(' ')}`,
      `node -e 'streamUpload(URL, "rss-probe.mp4", ${uploadBytes})'   # bench/lib/upload.mjs`]),
  ].join('\n');
  return {
    title: 'Upload: memory of dvs web during a large upload', markdown,
    targets: [{ what: `RSS growth during a ${(uploadBytes / 2 ** 30).toFixed(0)} GiB upload`, measured: `${fixed(worst, 1)} MB (${fixed(mbps)} MB/s)`, target: `≤ ${uploadRssTargetMb} MB`, met: ok }],
    results: { status: answer.status, baselineKb, peakKb, hwmBeforeKb, hwmAfterKb, growthMb: worst, mbps, receivedSeconds, ...answer, workBytes },
  };
}

function profileTables(profile) {
  const pct = (v) => `${v.toFixed(1)} %`;
  return [
    `**${profile.name}** — ${fixed(profile.load.rps)} req/s, server CPU ${fixed(profile.load.serverCpuPercent)} % ` +
    `(${cpuPerRequest(profile.load)} per request), ${profile.samples} samples.`,
    '',
    table(['where (self time)', 'share'], profile.dsos.map((d) => [d.name, pct(d.percent)])),
    '',
    table(['hottest functions (self)', 'share'], profile.self.map((r) => [`${r.kernel ? '[k] ' : ''}\`${r.name}\``, pct(r.percent)])),
    '',
    table(['dvs and library calls (inclusive)', 'incl.', 'self'], profile.inclusive.map((r) => [`\`${r.name}\``, pct(r.percent), pct(r.self)])),
  ].join('\n');
}

async function profileSection(setup) {
  const fs = await setup.fs();
  const cluster = await setup.cluster();
  const dir = path.join(setup.work, 'perf');
  await mkdir(dir, { recursive: true });
  const profiles = [];
  const uncached = await setup.clusterUncached();
  const cases = [[fs, 'manifest'], [fs, 'segment'], [cluster, 'segment'], [cluster, 'manifest'],
    ...(uncached ? [[uncached, 'segment'], [uncached, 'manifest']] : [])];
  for (const [server, kind] of cases) {
    const name = `${server.name}, ${kind}, 16 connections`;
    profiles.push(await profileUnderLoad({ pid: server.web.pid, serverPids: server.pids(), dir, name: name.replace(/\W+/g, '-'),
      wrkOptions: { url: urlOf(server, kind), connections: 16, seconds } }));
    profiles.at(-1).name = name;
    console.error(`profile: ${name} done`);
  }
  const markdown = [
    measuredLine(),
    '',
    `\`perf record -F 299 --call-graph dwarf\` on the \`dvs web\` process only (not wrk, not the storage ` +
    `servers) for ${Math.max(2, seconds - 2)} s in the middle of a ${seconds} s wrk run at 16 connections. ` +
    `Shares are of the samples taken in that process (all its threads). Names are shortened (template and ` +
    `function arguments dropped); "(inlined)" frames are merged into their function.`,
    '',
    ...profiles.flatMap((p) => [profileTables(p), '']),
    commandsBlock([...profiles.flatMap((p) => [p.load.command, p.command]),
      'perf report -i FILE --stdio -g none --no-children --sort dso|sym', 'perf report -i FILE --stdio -g none --children --sort sym']),
  ].join('\n');
  return { title: 'Profile of dvs web under load', markdown, targets: [],
    results: { profiles: profiles.map(({ load, ...p }) => ({ ...p, rps: load.rps })) } };
}

const sections = { serve: serveSection, viewers: viewersSection, upload: uploadSection, profile: profileSection };

async function main() {
  const work = removeLater(await mkdtemp(path.join(tmpdir(), 'dvs-bench-serve-')));
  const setup = new Setup(work);
  if (outDir) await mkdir(outDir, { recursive: true });
  let failed = false;
  for (const name of only) {
    let section;
    try {
      section = await sections[name](setup);
    } catch (error) {
      failed = true;
      console.error(`${name} failed: ${error.stack || error}`);
      section = { title: name, markdown: `**Failed**: \n\n\`\`\`\n${String(error.stack || error).slice(0, 4000)}\n\`\`\``, targets: [], failed: true };
    }
    console.log(`## ${section.title}\n\n${section.markdown}\n`);
    if (outDir) {
      await writeFile(path.join(outDir, `${name}.md`), section.markdown + '\n');
      await writeFile(path.join(outDir, `${name}.json`), JSON.stringify(
        { title: section.title, targets: section.targets, failed: Boolean(section.failed), results: section.results }, null, 1));
    }
  }
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopAll();
}
process.exit(code);
