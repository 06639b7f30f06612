#!/usr/bin/env node
// Library benchmark: how `dvs web` copes with a large library, on SQLite and
// on a real 3-member etcd cluster. Prints numbers (Markdown), not pass/fail.
//
//   node bench/library.mjs [--library-sizes 10000,100000] [--backends sqlite,etcd]
//       [--clients 4] [--list-seconds 10] [--pages-deep 5] [--serve-size N]
//       [--serve-seconds 10] [--serve-connections 16] [--serve-repeat 3]
//       [--clip-seconds 30] [--out FILE] [--json FILE]
//
// For each size it synthesizes that many records in dvs's current form
// (bench/lib/library_data.mjs), writes them straight into a SQLite database
// file and into etcd, and for each backend starts `dvs web` (content: fs) and
// measures: start-up (spawn to "serving http://"), VmRSS then, VmHWM (the
// peak, so the load's), a walk over the whole library with the cursor
// (checked against the expected order), and wrk latency of `GET /` and
// `GET /api/videos?limit=50`, first page and pages deep, with --clients
// connections. At --serve-size (default: the largest) it uploads one real
// --clip-seconds clip to each server and compares etcd-mode serving of its
// manifest and a segment with SQLite mode, and measures the record and file
// index sizes. --out writes the Markdown, --json the targets (the form of
// bench/run.sh's fragments). Needs wrk, etcd, ffmpeg and python3.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeClip } from '../tests/integration/harness.mjs';
import { fileNamed, segmentNear, uploadAndWait } from './lib/dvs.mjs';
import { commandsBlock, fixed, met, ms, table } from './lib/format.mjs';
import {
  etcdDbSize, etcdStoredJson, listOrder, loadEtcd, renditionsOf, scanEtcd, sortedJson, sqliteRecordSizes,
  sqliteStoredJson, synthesizeLibrary, writeSqlite,
} from './lib/library_data.mjs';
import { complaints, startEtcd, startTimedWeb } from './lib/library_servers.mjs';
import { statusKb } from './lib/proc_stats.mjs';
import { removeLater, stopAll } from './lib/procs.mjs';
import { runWrk } from './lib/wrk.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const sizes = option('library-sizes', '10000,100000').split(',').map(Number).filter((n) => n > 0);
const backends = option('backends', 'sqlite,etcd').split(',').filter((b) => ['sqlite', 'etcd'].includes(b));
const clients = Number(option('clients', '4'));
const listSeconds = Number(option('list-seconds', '10'));
const pagesDeep = Number(option('pages-deep', '5'));
const serveSize = Number(option('serve-size', String(Math.max(...sizes))));
const serveSeconds = Number(option('serve-seconds', '10'));
const serveConnections = Number(option('serve-connections', '16'));
const serveRepeat = Math.max(1, Number(option('serve-repeat', '3')));
const clipSeconds = Number(option('clip-seconds', '30'));
const outFile = option('out', null);
const jsonFile = option('json', null);
const etcdPrefix = '/dvs/';
const tenHours = 36000;

const targets = { indexP99Ms: 50, apiP99Ms: 20, rssMb: 500, recordBytes: 16 * 1024, servingRatio: 0.8 };

const log = (text) => console.error(`[library ${new Date().toISOString().slice(11, 19)}] ${text}`);
const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');
const mb = (kb) => (kb === null || kb === undefined ? '–' : `${(kb / 1024).toFixed(0)} MB`);
const secs = (s) => `${s.toFixed(s < 10 ? 2 : 1)} s`;
const timed = async (work) => { const t = performance.now(); const value = await work(); return { value, seconds: (performance.now() - t) / 1000 }; };
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
const loadBefore = loadAverage();
// Server CPU time per answered request, in ms: the figure least disturbed by other work on the machine.
const cpuPerRequest = (r) => (r.serverCpuPercent && r.rps ? (r.serverCpuPercent * 10) / r.rps : null);
const exact = new Set();  // the exact commands, for the report
// A wrk command as it ran, with its URL quoted for a shell and the port left out.
const wrkText = (result, url) => result.command.replace(/ (http:\S+)$/, (_, u) => ` '${u.replace(url, 'http://127.0.0.1:PORT')}'`);

async function getText(url) {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 300)}`);
  return text;
}

// --- the libraries on each backend ------------------------------------------------

async function sqliteLibrary(dir, records) {
  const db = path.join(dir, 'metadata.db');
  const { value: command, seconds } = await timed(() => writeSqlite(db, records, path.join(dir, 'rows.tsv')));
  await rm(path.join(dir, 'rows.tsv'));
  exact.add(command);
  return {
    backend: 'sqlite', loadSeconds: seconds, storeBytes: (await stat(db)).size, args: ['sqlite', db],
    async sizes(id) {
      const s = await sqliteRecordSizes(db, id);
      return { record: s.record, largest: { id: s.largest_id, bytes: s.largest } };
    },
    storedJson: (id) => sqliteStoredJson(db, id),
    stop: async () => {},
  };
}

async function etcdLibrary(dir, records) {
  const { value: cluster, seconds: startSeconds } = await timed(() => startEtcd(path.join(dir, 'etcd')));
  cluster.commands.forEach((c) => exact.add(c));
  const { value: command, seconds } = await timed(() => loadEtcd(cluster.endpoints, etcdPrefix, records));
  exact.add(command);
  const { count } = await scanEtcd(cluster.endpoints[0], etcdPrefix, '');
  if (count !== records.length) throw new Error(`etcd holds ${count} records, not ${records.length}`);
  return {
    backend: 'etcd', cluster, loadSeconds: seconds, clusterStartSeconds: startSeconds,
    storeBytes: await etcdDbSize(cluster.endpoints[0]), args: ['etcd', cluster.endpoints.join(',')],
    async sizes(id) {
      const s = await scanEtcd(cluster.endpoints[0], etcdPrefix, id);
      return { record: s.record, largest: s.largest, count: s.count };
    },
    storedJson: (id) => etcdStoredJson(cluster.endpoints[0], etcdPrefix, id),
    stop: () => cluster.stop(),
  };
}

// --- what is measured on each server -------------------------------------------------

// Every page of /api/videos?limit=500 from the newest: the ids must be the
// library in list order. Returns the walk's time and the cursors met.
async function walkLibrary(url, order) {
  const started = performance.now();
  const ids = [];
  const cursors = [];
  let cursor = null;
  do {
    const page = JSON.parse(await getText(`${url}/api/videos?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
    ids.push(...page.videos.map((v) => v.id));
    cursor = page.next_cursor;
    if (cursor) cursors.push({ after: ids.length, cursor });
  } while (cursor && ids.length <= order.length);
  const seconds = (performance.now() - started) / 1000;
  const firstWrong = ids.findIndex((id, i) => id !== order[i]);
  const ok = ids.length === order.length && firstWrong < 0;
  const problem = ok ? null
    : `listed ${ids.length} of ${order.length}; first difference at position ${firstWrong < 0 ? ids.length : firstWrong}`;
  return { seconds, pages: cursors.length + 1, ok, problem, cursors };
}

// The path of page `pages + 1` of `/` (following "Older videos"), and how
// many videos the first page shows.
async function indexPageDeep(url, pages) {
  let target = '/';
  let shown = null;
  for (let page = 0; page < pages; page++) {
    const html = await getText(url + target);
    shown ??= (html.match(/href="\/videos\/[^"]+"/g) || []).length;
    const next = html.match(/href="(\/\?cursor=[^"]+)">Older videos/);
    if (!next) throw new Error(`page ${page + 1} of / has no "Older videos" link`);
    target = next[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  }
  return { target, shown };
}

async function apiPageDeep(url, pages) {
  let cursor = null;
  for (let page = 0; page < pages; page++) {
    const answer = JSON.parse(await getText(`${url}/api/videos?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
    if (answer.videos.length !== 50) throw new Error(`/api/videos?limit=50 page ${page + 1}: ${answer.videos.length} videos`);
    cursor = answer.next_cursor;
  }
  return `/api/videos?limit=50&cursor=${encodeURIComponent(cursor)}`;
}

async function listRequests(web, walk, size) {
  const index = await indexPageDeep(web.url, pagesDeep);
  const middle = walk.cursors.reduce((best, c) => (Math.abs(c.after - size / 2) < Math.abs(best.after - size / 2) ? c : best),
    walk.cursors[0]);
  const requests = [
    { kind: 'index', what: '`GET /`', path: '/' },
    { kind: 'index', what: `\`GET /?cursor=…\` (page ${pagesDeep + 1})`, path: index.target },
    { kind: 'api', what: '`GET /api/videos?limit=50`', path: '/api/videos?limit=50' },
    { kind: 'api', what: `\`…limit=50&cursor=…\` (page ${pagesDeep + 1})`, path: await apiPageDeep(web.url, pagesDeep) },
  ];
  if (middle) {
    requests.push({ kind: 'api', what: `\`…limit=50&cursor=…\` (after ${middle.after} videos)`,
      path: `/api/videos?limit=50&cursor=${encodeURIComponent(middle.cursor)}` });
  }
  return { requests, shownOnIndex: index.shown };
}

async function measureLists(web, walk, size, backend) {
  const { requests, shownOnIndex } = await listRequests(web, walk, size);
  const results = [];
  for (const request of requests) {
    const bytes = Buffer.byteLength(await getText(web.url + request.path));
    await runWrk({ url: web.url + request.path, connections: clients, seconds: 1 });  // warm-up
    const result = await runWrk({ url: web.url + request.path, connections: clients, seconds: listSeconds },
      { serverPids: [web.pid] });
    exact.add(wrkText(result, web.url));
    log(`${backend} ${size}: ${request.what} ${fixed(result.rps)} req/s, p50 ${ms(result.p50)}, p99 ${ms(result.p99)}`);
    results.push({ ...request, bytes, ...result, raw: undefined });
  }
  return { results, shownOnIndex };
}

// --- the real clip: record and index sizes, serving -------------------------------

async function uploadClip(lib, clip) {
  const { value: video, seconds } = await timed(() => uploadAndWait(lib.web.url, clip, 'library clip.mp4'));
  const answer = await getText(`${lib.web.url}/api/videos/${video.id}`);
  const files = { manifest: fileNamed(video, 'manifest.mpd'), segment: segmentNear(video, 1.5e6) };
  for (const file of Object.values(files)) {
    const body = Buffer.from(await (await fetch(`${lib.web.url}/content/${video.id}/${file.name}`)).arrayBuffer());
    if (sha256(body) !== file.sha256) throw new Error(`${lib.backend}: ${file.name} is not the recorded bytes`);
  }
  log(`${lib.backend}: uploaded ${video.id} in ${secs(seconds)} (${video.files.length} files)`);
  return { video, answerBytes: Buffer.byteLength(answer), files, uploadSeconds: seconds };
}

// The record as stored and its file index on disk (the record names it; the
// API leaves it out), in the content folder <id>/<generation>/.
async function recordAndIndex(lib, video) {
  const sizes = await lib.sizes(video.id);
  const stored = await lib.storedJson(video.id);
  const record = JSON.parse(stored);
  const indexPath = path.join(lib.contentDir, video.id, record.generation, record.index.name);
  const indexText = await readFile(indexPath, 'utf8');
  return { sizes, stored, record, indexPath, indexBytes: Buffer.byteLength(indexText), index: JSON.parse(indexText) };
}

// A 10-hour 1080p video, extrapolated from the real clip: each stream's
// segments per second of the clip (ladder and quick copy alike), one more
// video rendition like the top one (1080p has 5, the clip's 720p 4), the
// same other files plus an init and a playlist for that rendition; index
// bytes = files × the clip's index bytes per file (names keep their length:
// segment numbers have 5 digits).
function tenHourEstimate(real, seconds) {
  const perStream = {};
  let other = 0;
  for (const f of real.index.files) {
    const m = f.name.match(/^chunk-(\w+)-\d+\.m4s$/);
    if (m) perStream[m[1]] = (perStream[m[1]] || 0) + 1; else other++;
  }
  const factor = tenHours / seconds;
  const extraRendition = Math.ceil((perStream['0'] || 0) * factor);
  const segments = Object.values(perStream).reduce((sum, n) => sum + Math.ceil(n * factor), 0) + extraRendition;
  const files = segments + other + 2;
  const perFile = real.indexBytes / real.index.files.length;
  const record = { ...real.record, duration_s: tenHours, width: 1920, height: 1080, renditions: renditionsOf('1080p'),
    size_bytes: Math.round(real.record.size_bytes * factor * 1.8), index: { ...real.record.index, file_count: files } };
  return { perStream, other, files, perFile, indexBytes: Math.round(files * perFile), recordBytes: Buffer.byteLength(sortedJson(record)) };
}

async function compareServing(libs) {
  const servers = libs.filter((l) => l.clip);
  const url = (lib, kind) => `${lib.web.url}/content/${lib.clip.video.id}/${lib.clip.files[kind].name}`;
  for (const lib of servers) for (const kind of ['manifest', 'segment']) {
    await runWrk({ url: url(lib, kind), connections: serveConnections, seconds: 2 });
  }
  const runs = [];
  for (let round = 0; round < serveRepeat; round++) {
    for (const kind of ['manifest', 'segment']) for (const lib of servers) {
      const result = await runWrk({ url: url(lib, kind), connections: serveConnections, seconds: serveSeconds }, { serverPids: [lib.web.pid] });
      exact.add(wrkText(result, lib.web.url));
      log(`serving ${lib.backend} ${kind} round ${round + 1}: ${fixed(result.rps)} req/s`);
      runs.push({ backend: lib.backend, kind, file: lib.clip.files[kind], ...result, raw: undefined });
    }
  }
  const median = (backend, kind) => {
    const sorted = runs.filter((r) => r.backend === backend && r.kind === kind).sort((a, b) => a.rps - b.rps);
    return sorted.length ? { ...sorted[Math.floor((sorted.length - 1) / 2)], all: sorted.map((r) => Math.round(r.rps)) } : null;
  };
  return ['manifest', 'segment'].map((kind) => ({ kind, sqlite: median('sqlite', kind), etcd: median('etcd', kind) }));
}

// --- one library size ---------------------------------------------------------------

async function measureOnBackend(backend, dir, records, order, size) {
  log(`${backend} ${size}: writing the library`);
  const lib = await (backend === 'sqlite' ? sqliteLibrary : etcdLibrary)(dir, records);
  log(`${backend} ${size}: written in ${secs(lib.loadSeconds)}; starting dvs web`);
  lib.contentDir = path.join(dir, 'content');
  lib.web = await startTimedWeb(path.join(dir, 'web'), [...lib.args, 'fs', lib.contentDir]);
  exact.add(`dvs ${lib.web.args.join(' ')}`);
  log(`${backend} ${size}: serving after ${ms(lib.web.startupMs)}, RSS ${mb(lib.web.rssKb)}, peak ${mb(lib.web.peakKb)}`);
  lib.walk = await walkLibrary(lib.web.url, order);
  log(`${backend} ${size}: walked ${lib.walk.pages} pages in ${secs(lib.walk.seconds)}${lib.walk.ok ? '' : `: ${lib.walk.problem}`}`);
  lib.lists = await measureLists(lib.web, lib.walk, size, backend);
  lib.rssAfterKb = statusKb(lib.web.pid, 'VmRSS');
  lib.peakAfterKb = statusKb(lib.web.pid, 'VmHWM');
  return lib;
}

async function measureSize(size, work, clip) {
  const records = synthesizeLibrary(size);
  const order = listOrder(records);
  const libs = [];
  const result = { size, libs, serving: null };
  try {
    for (const backend of backends) {
      const dir = path.join(work, `${backend}-${size}`);
      await mkdir(dir, { recursive: true });
      const lib = await measureOnBackend(backend, dir, records, order, size);
      lib.dir = dir;
      libs.push(lib);
    }
    if (size === serveSize) {
      for (const lib of libs) {
        lib.clip = await uploadClip(lib, await clip());
        lib.real = await recordAndIndex(lib, lib.clip.video);
      }
      if (libs.length === 2) result.serving = await compareServing(libs);
    }
    for (const lib of libs) lib.storedSizes = await lib.sizes(lib.clip ? lib.clip.video.id : '');
  } finally {
    for (const lib of libs) {
      if (lib.web) { lib.complaints = complaints(lib.web); await lib.web.stop(); }
      await lib.stop();
      if (lib.dir) await rm(lib.dir, { recursive: true, force: true });
    }
  }
  return result;
}

// --- the report -----------------------------------------------------------------

const worst = (lib, kind) => lib.lists.results.filter((r) => r.kind === kind).reduce((a, b) => (b.p99 > a.p99 ? b : a));
const peakKb = (lib) => Math.max(lib.web.peakKb || 0, lib.peakAfterKb || 0);

function startupTable(results) {
  const rows = results.flatMap(({ size, libs }) => libs.map((lib) => [
    lib.backend, size, `${secs(lib.loadSeconds)}${lib.backend === 'etcd' ? ` (+ ${secs(lib.clusterStartSeconds)} cluster start)` : ''}`,
    `${(lib.storeBytes / 1e6).toFixed(1)} MB`, ms(lib.web.startupMs), mb(lib.web.rssKb), mb(lib.web.peakKb), mb(lib.rssAfterKb),
    mb(lib.peakAfterKb), `${lib.walk.pages} pages, ${secs(lib.walk.seconds)}, ${lib.walk.ok ? 'in order' : `**${lib.walk.problem}**`}`,
    lib.lists.shownOnIndex]));
  return table(['backend', 'videos', 'write the library', 'store size', 'start-up', 'RSS at start-up', 'peak RSS at start-up',
    'RSS after list runs', 'peak RSS after list runs', 'walk of every page (limit=500)', 'videos on /'], rows);
}

function latencyTable(results) {
  const rows = results.flatMap(({ size, libs }) => libs.flatMap((lib) => lib.lists.results.map((r) => [
    lib.backend, size, r.what, `${(r.bytes / 1e3).toFixed(1)} kB`, fixed(r.rps), ms(r.p50), ms(r.p90), ms(r.p99), ms(r.latencyMaxMs),
    r.socketErrors + r.non2xx, `${fixed(r.serverCpuPercent)} %`, ms(cpuPerRequest(r))])));
  return table(['backend', 'videos', 'request', 'answer', 'req/s', 'p50', 'p90', 'p99', 'max', 'errors', 'server CPU', 'CPU/req'], rows);
}

function recordTable(served) {
  const rows = [];
  for (const lib of served.libs) {
    rows.push([lib.backend, `largest record of the ${served.size}-video library`, `${lib.storedSizes.largest.bytes} B (\`${lib.storedSizes.largest.id}\`)`]);
  }
  const real = served.libs.find((l) => l.real);
  if (!real) return table(['backend', 'what', 'bytes'], rows);
  const est = tenHourEstimate(real.real, clipSeconds);
  for (const lib of served.libs.filter((l) => l.real)) {
    rows.push([lib.backend, `record of the real ${clipSeconds} s clip (\`${lib.clip.video.id}\`), as stored`, `${lib.real.sizes.record} B`]);
  }
  rows.push(['', `its \`GET /api/videos/${real.clip.video.id}\` answer (with the file list)`, `${real.clip.answerBytes} B`]);
  rows.push(['', `its file index \`${path.basename(real.real.indexPath)}\`: ${real.real.index.files.length} files`,
    `${real.real.indexBytes} B (${est.perFile.toFixed(1)} B per file)`]);
  rows.push(['', `10 h 1080p, extrapolated: record (5 renditions, file_count ${est.files})`, `${est.recordBytes} B`]);
  rows.push(['', `10 h 1080p, extrapolated: file index, ${est.files} files`, `${(est.indexBytes / 1e6).toFixed(2)} MB`]);
  return { markdown: table(['backend', 'what', 'bytes'], rows), est, real };
}

function servingTable(serving) {
  const rows = serving.flatMap(({ kind, sqlite, etcd }) => [sqlite, etcd].map((r) => [
    r.backend, `${kind} \`${r.file.name}\` (${(r.file.size / 1e3).toFixed(1)} kB)`,
    serveRepeat > 1 ? `${fixed(r.rps)} (${r.all.join(', ')})` : fixed(r.rps), ms(r.p50), ms(r.p99), r.socketErrors + r.non2xx,
    `${fixed(r.serverCpuPercent)} %`, ms(cpuPerRequest(r)),
    r.backend === 'etcd' ? `${(etcd.rps / sqlite.rps).toFixed(2)}× (CPU/req ${(cpuPerRequest(etcd) / cpuPerRequest(sqlite)).toFixed(2)}×)` : '1']));
  return table(['backend', 'file', 'req/s', 'p50', 'p99', 'errors', 'server CPU', 'CPU/req', '× SQLite'], rows);
}

function targetList(results, recordInfo) {
  const list = [];
  const served = results.find((r) => r.size === Math.max(...sizes));
  const at = served.size === 100000 ? '100k videos' : `${served.size} videos (the target is for 100k)`;
  for (const lib of served.libs) {
    const index = worst(lib, 'index');
    const api = worst(lib, 'api');
    list.push({ what: `${lib.backend}, ${at}: \`GET /\` p99 (worst of its pages: ${index.what})`, measured: ms(index.p99),
      target: `≤ ${targets.indexP99Ms} ms`, met: index.p99 <= targets.indexP99Ms });
    list.push({ what: `${lib.backend}, ${at}: \`/api/videos?limit=50\` p99 (worst: ${api.what})`, measured: ms(api.p99),
      target: `≤ ${targets.apiP99Ms} ms`, met: api.p99 <= targets.apiP99Ms });
    list.push({ what: `${lib.backend}, ${at}: peak RSS (VmHWM)`, measured: mb(peakKb(lib)), target: `≤ ${targets.rssMb} MB`,
      met: peakKb(lib) / 1024 <= targets.rssMb });
  }
  if (recordInfo && recordInfo.est) {
    const largest = Math.max(recordInfo.est.recordBytes, ...served.libs.map((l) => l.storedSizes.largest.bytes),
      ...served.libs.filter((l) => l.real).map((l) => l.real.sizes.record));
    list.push({ what: 'largest record (library, real clip, 10 h 1080p estimate)', measured: `${largest} B`,
      target: `≤ ${targets.recordBytes} B`, met: largest <= targets.recordBytes });
  }
  const serving = results.find((r) => r.serving);
  for (const { kind, sqlite, etcd } of serving ? serving.serving : []) {
    const ratio = etcd.rps / sqlite.rps;
    list.push({ what: `etcd-mode ${kind} serving (${serveConnections} connections)`, measured: `${ratio.toFixed(2)}× SQLite (${fixed(etcd.rps)} vs ${fixed(sqlite.rps)} req/s; ` +
        `CPU per request ${(cpuPerRequest(etcd) / cpuPerRequest(sqlite)).toFixed(2)}× SQLite's)`,
      target: `≥ ${targets.servingRatio}× SQLite`, met: ratio >= targets.servingRatio });
  }
  return list;
}

function logNotes(results) {
  const notes = [];
  for (const { size, libs } of results) for (const lib of libs) {
    const lines = lib.complaints || [];
    if (lines.length) notes.push(`- ${lib.backend} ${size}: ${lines.length} warning/error lines in dvs's log, first: \`${lines[0].slice(0, 300)}\``);
  }
  return notes.length ? notes.join('\n') : 'No warnings or errors in the servers\' logs.';
}

function report(results) {
  const served = results.find((r) => r.size === serveSize) || results.at(-1);
  const recordInfo = recordTable(served);
  const list = targetList(results, recordInfo);
  const markdown = [
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Synthesized libraries of ${sizes.join(' and ')} ready, public ` +
    `videos (records in dvs's current form, a third with the 1080p ladder, the rest 720p; their file indexes are not ` +
    `written: nothing here reads them) written straight into a SQLite database file (python3 sqlite3, one transaction) and into ` +
    `a 3-member etcd ${'cluster'} on loopback (gRPC-gateway txns of 100 puts, 8 in flight). For each, a fresh \`dvs web\` ` +
    `(content: fs). Start-up is spawn to the "serving http://" line; RSS is VmRSS and peak RSS VmHWM of /proc/PID/status ` +
    `(the peak at start-up is the load's). The walk reads every page with \`limit=500\` and checks the ids against the ` +
    `expected order. Latency: wrk, ${clients} connections (a closed loop), ${listSeconds} s per request after a 1 s ` +
    `warm-up; wrk shares the 2 cores with dvs. Server CPU is dvs web's CPU time over the run (100 % = one core), CPU/req ` +
    `that time per answered request. Load average (1 min) ${loadBefore} before, ${loadAverage()} after.`,
    '',
    '**Start-up and memory**',
    '',
    startupTable(results),
    '',
    '**List latency**',
    '',
    latencyTable(results),
    '',
    `**Record and file index sizes** (${served.size}-video library)`,
    '',
    recordInfo.markdown || recordInfo,
    '',
    recordInfo.est ? `The 10 h figures are extrapolated from the real ${clipSeconds} s 720p clip, not measured on a 10 h upload: ` +
      `its index lists ${Object.entries(recordInfo.est.perStream).map(([s, n]) => `${n} segments of stream ${s}`).join(', ')} and ` +
      `${recordInfo.est.other} other files; each stream's segment count is scaled by ${tenHours}/${clipSeconds}, one more video ` +
      `rendition like stream 0 is added (1080p has 5, the clip's ladder 4) with its init and playlist, and the index bytes are ` +
      `files × the clip's ${recordInfo.est.perFile.toFixed(1)} B per file (segment numbers have 5 digits, so names keep their length). ` +
      `The record is the real one with the 1080p ladder, 10 h and that file count.` : '',
    '',
    ...(results.some((r) => r.serving) ? [
      `**Serving: etcd mode against SQLite mode** (${serveSize}-video library; the real clip uploaded to each server, then wrk ` +
      `${serveConnections} connections, ${serveSeconds} s, ${serveRepeat} interleaved rounds; each row is the median round, all in brackets)`,
      '',
      servingTable(results.find((r) => r.serving).serving),
      '',
    ] : []),
    '**Targets**',
    '',
    table(['what', 'measured', 'target', ''], list.map((t) => [t.what, t.measured, t.target, met(t.met)])),
    '',
    logNotes(results),
    '',
    commandsBlock([...exact], 'exact commands (temp paths and ports as they were)'),
  ].join('\n');
  return { title: 'Library size: start-up, memory and listing on SQLite and etcd', markdown, targets: list };
}

async function main() {
  const work = removeLater(await mkdtemp(path.join(tmpdir(), 'dvs-bench-library-')));
  let clipFile = null;
  const clip = async () => (clipFile ??= makeClip(path.join(work, 'clip.mp4'), { seconds: clipSeconds }));
  const results = [];
  for (const size of sizes) results.push(await measureSize(size, work, clip));
  return report(results);
}

let code = 1;
let section;
try {
  section = await main();
  code = 0;
} catch (error) {
  console.error(`library failed: ${error.stack || error}`);
  section = { title: 'Library size', markdown: `**Failed**:\n\n\`\`\`\n${String(error.stack || error).slice(0, 4000)}\n\`\`\``,
    targets: [], failed: true };
} finally {
  await stopAll();
}
console.log(section.markdown);
if (outFile) await writeFile(outFile, section.markdown + '\n');
if (jsonFile) await writeFile(jsonFile, JSON.stringify({ title: section.title, targets: section.targets, failed: Boolean(section.failed) }, null, 1));
process.exit(code);
