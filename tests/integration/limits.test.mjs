// Process limits of `dvs web` with real processes (issue #15, items 6-8):
// the open-file limit raised and --max-connections clamped to it, ?wait=1
// without a handler thread, /healthz never behind handlers, trickled uploads
// dropped, 507 when the declared upload does not fit, one process per SQLite
// file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readdir, readFile, statfs } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import {
  dvsBinary, makeTempDir, startWeb, makeClip, upload, waitForVideo, authLine,
  killLeftoverServers, removeDir,
} from './harness.mjs';

const dirs = [];
const children = new Set();  // dvs processes not started by startWeb
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await killLeftoverServers();
  for (const dir of dirs) await removeDir(dir);
});

async function tempDir() {
  const dir = await makeTempDir('dvs-limits-');
  dirs.push(dir);
  return dir;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `dvs web --anonymous-uploads ARGS` under `ulimit ULIMIT` (a shell runs it,
// as an init script would).
function startUnderUlimit(dir, ulimit, args) {
  return startWeb(dir, ['--anonymous-uploads', ...args], { ulimit });
}

// A keep-alive connection that has had one answer and now waits idle.
function idleConnection(url) {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    socket.setEncoding('latin1');
    socket.once('data', (data) => {
      if (data.startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(`unexpected answer: ${data.slice(0, 80)}`));
    });
    socket.on('error', reject);
  });
}

function hardFileLimit() {
  const text = execFileSync('/bin/sh', ['-c', 'ulimit -Hn']).toString().trim();
  return text === 'unlimited' ? Infinity : Number(text);
}

async function timedGet(url) {
  const started = Date.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, ms: Date.now() - started };
}

test('the soft open-file limit is raised: 1100 idle connections during a job, and the video ends ready', async (t) => {
  if (hardFileLimit() < 2600) {
    t.skip(`the hard open-file limit (${hardFileLimit()}) is too low for 1100 connections`);
    return;
  }
  const dir = await tempDir();
  // A soft limit of 1024, as most systems start processes with.
  const web = await startUnderUlimit(dir, '-Sn 1024',
    ['--read-timeout', '600', '--idle-timeout', '600']);
  assert.doesNotMatch(web.log(), /clamped/);
  const sockets = [];
  let closed = 0;
  for (let i = 0; i < 1100; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => idleConnection(web.url)));
    for (const socket of batch) socket.on('close', () => { closed += 1; });
    sockets.push(...batch);
  }
  try {
    const clip = await makeClip(path.join(dir, 'held.mp4'), { width: 320, height: 240, seconds: 2 });
    const response = await upload(web.url, 'held.mp4', await readFile(clip), { anonymous: true });
    assert.equal(response.status, 303, await response.text());
    const video = await waitForVideo(web.url, 'held', (v) => v.state !== 'processing', 240000);
    assert.equal(video.state, 'ready', JSON.stringify(video));
    assert.equal((await timedGet(`${web.url}/api/videos`)).status, 200);
    assert.equal(closed, 0, 'no idle connection was dropped');
  } finally {
    for (const socket of sockets) socket.destroy();
    await web.stop();
  }
});

test('--max-connections is clamped to what the hard limit leaves, and the clamp is logged', async () => {
  const dir = await tempDir();
  const web = await startUnderUlimit(dir, '-n 600', ['--max-connections', '4096']);
  // (600 - 264 reserved for files, pipes and gRPC) / 2 descriptors a connection.
  assert.match(web.log(), /--max-connections 4096 clamped to 168: the open-file limit is 600/);
  // Connections past the clamp get the server's 503 (instead of accepts
  // failing with EMFILE). The test's own HTTP client may hold one or two.
  const sockets = [];
  let refused = null;
  try {
    while (refused === null && sockets.length < 200) {
      try {
        sockets.push(await idleConnection(web.url));
      } catch (error) {
        refused = error.message;
      }
    }
    assert.match(String(refused), /HTTP\/1\.1 503/);
    assert.ok(sockets.length >= 160 && sockets.length <= 168, `${sockets.length} connections held`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await web.stop();
  }
});

test('10 uploads with ?wait=1 hold no handler thread: /healthz and the API answer meanwhile', async () => {
  const dir = await tempDir();
  // Two handler threads: ten waits that each held one would starve the API.
  const web = await startWeb(dir, ['--http-workers', '2', '--jobs', '1']);
  const clip = await readFile(await makeClip(path.join(dir, 'w.mp4'),
    { width: 320, height: 240, seconds: 2 }));
  let settled = 0;
  const uploads = Array.from({ length: 10 }, (_, i) =>
    upload(web.url, `wait-${i}.mp4`, clip, { query: '?wait=1' }).then(async (response) => {
      settled += 1;
      return { status: response.status, body: await response.json() };
    }));
  // Receiving and probing the uploads is handler work; once all ten are
  // accepted (listed), they only wait.
  for (let listed = 0; listed < 10 && settled < 10;) {
    const health = await timedGet(`${web.url}/healthz`);
    assert.ok(health.status === 200 && health.ms < 1000, `/healthz took ${health.ms} ms`);
    const list = await (await fetch(`${web.url}/api/videos?limit=20`)).json();
    listed = list.videos.length;
    await sleep(200);
  }
  const slowest = { healthz: 0, api: 0 };
  let polls = 0;
  while (settled < 10) {
    const health = await timedGet(`${web.url}/healthz`);
    assert.equal(health.status, 200);
    slowest.healthz = Math.max(slowest.healthz, health.ms);
    const api = await timedGet(`${web.url}/api/videos?limit=1`);
    assert.equal(api.status, 200);
    slowest.api = Math.max(slowest.api, api.ms);
    polls += 1;
    await sleep(200);
  }
  const results = await Promise.all(uploads);
  await web.stop();
  for (const result of results) {
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.state, 'ready', JSON.stringify(result.body));
  }
  assert.ok(polls >= 3, `polled ${polls} times while the uploads waited`);
  assert.ok(slowest.healthz < 1000, `/healthz took ${slowest.healthz} ms`);
  // A plain route runs on a handler thread: with two of them, ten waits that
  // each held one would leave it unanswered until the videos were ready.
  assert.ok(slowest.api < 2000, `/api/videos took ${slowest.api} ms`);
});

// Sends a multipart head and then `trickle` bytes every `everyMs`, until the
// server answers or closes; resolves with what it answered.
function trickleUpload(url, auth, { everyMs = 250 } = {}) {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    let timer;
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}` +
        'Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n' +
        'Content-Type: video/mp4\r\n\r\n');
      timer = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, everyMs);
    });
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('close', () => { clearInterval(timer); resolve(data); });
    socket.on('error', () => { clearInterval(timer); resolve(data); });
    setTimeout(() => { clearInterval(timer); socket.destroy(); reject(new Error('never dropped')); }, 60000);
  });
}

test('a trickling upload is dropped with 408, its slot freed and nothing kept', async () => {
  const dir = await tempDir();
  const web = await startWeb(dir, ['--max-uploads', '1', '--upload-min-rate', '16',
    '--upload-rate-window', '2']);
  const started = Date.now();
  const answer = await trickleUpload(web.url, authLine(web.url));
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.match(answer, /too slow/);
  assert.ok(Date.now() - started < 30000, `dropped after ${Date.now() - started} ms`);
  // The one upload slot is free again, and no spool file is left.
  const clip = await readFile(await makeClip(path.join(dir, 'fast.mp4'),
    { width: 320, height: 240, seconds: 1 }));
  let response;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    response = await upload(web.url, 'fast.mp4', clip);
    if (response.status !== 429) break;
    await sleep(200);
  }
  assert.equal(response.status, 303, await response.text());
  const spooled = await readdir(path.join(dir, 'data', 'work', 'uploads')).catch(() => []);
  assert.deepEqual(spooled.filter((name) => name.startsWith('upload-')), []);
  const list = await (await fetch(`${web.url}/api/videos`)).json();
  assert.deepEqual(list.videos.map((v) => v.id), ['fast']);
  await web.stop();
});

test('an upload declared larger than the free work space gets 507 and nothing is stored', async () => {
  const dir = await tempDir();
  const web = await startWeb(dir, ['--upload-limit', String(2 ** 62)]);
  const work = path.join(dir, 'data', 'work');
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  // A gibibyte more than is free: it cannot fit whatever else runs meanwhile.
  const declared = free + 2 ** 30;
  const answer = await new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(web.url).port), '127.0.0.1', () => {
      socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n${authLine(web.url)}` +
        `Accept: application/json\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n` +
        `Content-Length: ${declared}\r\n\r\n--XyZ\r\nContent-Disposition: form-data; ` +
        'name="file"; filename="huge.mp4"\r\n\r\n' + 'x'.repeat(65536));
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    setTimeout(() => { socket.destroy(); reject(new Error('no answer')); }, 30000);
  });
  assert.match(answer, /^HTTP\/1\.1 507/);
  assert.match(answer, /not enough free space/);
  const spooled = await readdir(path.join(work, 'uploads')).catch(() => []);
  assert.deepEqual(spooled, []);
  const list = await (await fetch(`${web.url}/api/videos`)).json();
  assert.deepEqual(list.videos, []);
  await web.stop();
});

test('a second dvs web on the same SQLite file exits 1 and says why', async () => {
  const dir = await tempDir();
  const db = path.join(dir, 'shared', 'metadata.db');
  const first = await startWeb(dir, ['--work-dir', path.join(dir, 'w1'),
    'sqlite', db, 'fs', path.join(dir, 'c1')]);
  const second = spawn(dvsBinary, ['web', '--port', '0', '--work-dir', path.join(dir, 'w2'),
    'sqlite', db, 'fs', path.join(dir, 'c2')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(second);
  let log = '';
  second.stdout.on('data', (data) => { log += data; });
  second.stderr.on('data', (data) => { log += data; });
  const code = await new Promise((resolve) => second.on('exit', resolve));
  assert.equal(code, 1, log);
  assert.match(log, /another dvs process uses the SQLite file .*metadata\.db/);
  // The first one is untouched.
  assert.equal((await timedGet(`${first.url}/healthz`)).status, 200);
  await first.stop();
});
