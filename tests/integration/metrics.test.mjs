// Monitoring: /metrics of `dvs web`, `dvs storage` and `dvs worker` pass
// `promtool check metrics`; a real Prometheus (Debian's) scrapes both (up == 1) and sees the
// series move with an upload and its views; the access log has one line per
// request and no credential in it; --log-format json writes JSON lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import {
  authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage, startWeb,
  startWorker, upload, waitForVideo,
} from './harness.mjs';
import { startEtcdCluster } from './etcd_cluster.mjs';

let dir;
let storage;
let storageMetricsUrl;
let web;
let prometheus;
let prometheusUrl;
let video;

// Resolves with a port nobody listens on (bound, then released).
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Runs `command args...` with `input` on stdin; resolves with { code, output }.
function runWithInput(command, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data) => { output += data; });
    child.stderr.on('data', (data) => { output += data; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

// Polls `check` (an async function returning a truthy value when done) until
// it succeeds or `timeoutMs` passes; returns its last value.
async function waitFor(what, check, timeoutMs = 90000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

// One instant query to Prometheus; resolves with its result vector.
async function query(expression) {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expression)}`);
  const body = await response.json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

const valueOf = (result) => (result.length > 0 ? Number(result[0].value[1]) : NaN);

// The value of an unlabelled sample in a /metrics text, or NaN.
function sampleIn(text, name) {
  const match = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return match ? Number(match[1]) : NaN;
}

async function startPrometheus() {
  const folder = path.join(dir, 'prometheus');
  await mkdir(folder, { recursive: true });
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: dvs_web',
    `    static_configs: [{ targets: ['${new URL(web.url).host}'] }]`,
    '  - job_name: dvs_storage',
    `    static_configs: [{ targets: ['${new URL(storageMetricsUrl).host}'] }]`,
    '',
  ].join('\n');
  await writeFile(path.join(folder, 'prometheus.yml'), config);
  const child = spawn('prometheus', [
    `--config.file=${path.join(folder, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(folder, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (data) => { log += data; });
  child.stderr.on('data', (data) => { log += data; });
  prometheus = { child, log: () => log };
  prometheusUrl = `http://127.0.0.1:${port}`;
  await waitFor('Prometheus to be ready', async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 60000)
    .catch((error) => { throw new Error(`${error.message}\n${log}`); });
}

before(async () => {
  dir = await makeTempDir('dvs-metrics-');
  const storageDir = path.join(dir, 'storage');
  await mkdir(storageDir, { recursive: true });
  storage = await startStorage(storageDir, 0, { args: ['--metrics-port', '0', '--log-format', 'json'] });
  storageMetricsUrl = await waitFor('the storage /metrics address', async () => {
    const match = storage.log().match(/\/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
    return match && `${match[1]}/metrics`;
  }, 20000);
  const adminPort = await freePort();
  web = await startWeb(dir, ['--access-log', '--log-format', 'json', '--replicas', '1',
    'sqlite', path.join(dir, 'metadata.db'), 'nw', `127.0.0.1:${adminPort},${storage.address}`]);
  const clip = path.join(dir, 'clip.mp4');
  await makeClip(clip, { width: 320, height: 240, seconds: 2 });
  const uploaded = await upload(web.url, 'metrics-clip.mp4', await readFile(clip));
  assert.ok([202, 303].includes(uploaded.status), `upload: ${uploaded.status}`);
  video = await waitForVideo(web.url, 'metrics-clip', (v) => v.state === 'ready');
});

after(async () => {
  if (prometheus) {
    const exited = new Promise((resolve) => prometheus.child.on('exit', resolve));
    prometheus.child.kill('SIGTERM');
    await exited;
  }
  await web?.stop();
  await storage?.stop();
  await killLeftoverServers();
  if (dir) await removeDir(dir);
});

test('promtool check metrics passes on the output of dvs web and dvs storage', async () => {
  for (const url of [`${web.url}/metrics`, storageMetricsUrl]) {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const checked = await runWithInput('promtool', ['check', 'metrics'], text);
    assert.equal(checked.code, 0, `promtool on ${url}:\n${checked.output}\n${text}`);
    assert.equal(checked.output.trim(), '', `promtool lint on ${url}:\n${checked.output}`);
  }
});

test('promtool check metrics passes on the output of dvs worker', async () => {
  const etcd = await startEtcdCluster(path.join(dir, 'etcd'), 1);
  let worker;
  try {
    worker = await startWorker(path.join(dir, 'worker'), ['--metrics-port', '0',
      'etcd', etcd.endpoints(), 'nw', `127.0.0.1:0,${storage.address}`]);
    const url = await waitFor('the worker /metrics address', async () => {
      const match = worker.log().match(/\/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/);
      return match && `${match[1]}/metrics`;
    }, 20000);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^# TYPE dvs_etcd_request_duration_seconds histogram$/m);
    const checked = await runWithInput('promtool', ['check', 'metrics'], text);
    assert.equal(checked.code, 0, `promtool on the worker:\n${checked.output}\n${text}`);
    assert.equal(checked.output.trim(), '', `promtool lint on the worker:\n${checked.output}`);
  } finally {
    await worker?.stop();
    await etcd.stop();
  }
});

test('the series name route templates, never raw paths', async () => {
  await fetch(`${web.url}/videos/metrics-clip`);
  await fetch(`${web.url}/no/such/path/${'x'.repeat(50)}`);
  const text = await (await fetch(`${web.url}/metrics`)).text();
  assert.match(text, /^dvs_http_requests_total\{route="\/videos\/:id",code="200"\} \d+/m);
  assert.match(text, /^dvs_http_requests_total\{route="none",code="404"\} \d+/m);
  assert.doesNotMatch(text, /metrics-clip|xxxxx/);
  assert.ok(sampleIn(text, 'dvs_upload_bytes_total') > 0, 'upload bytes counted');
  assert.match(text, /^dvs_transcode_jobs_total\{result="done"\} [1-9]/m);
  assert.match(text, /^dvs_storage_node_up\{node="127\.0\.0\.1:\d+"\} 1$/m);
  const stored = await (await fetch(storageMetricsUrl)).text();
  assert.ok(sampleIn(stored, 'dvs_storage_blobs') >= video.files.length, stored);
  assert.ok(sampleIn(stored, 'dvs_storage_bytes_used') > 0, stored);
});

test('a real Prometheus scrapes both (up == 1) and its series move with an upload and views', async () => {
  await startPrometheus();
  await waitFor('both targets up', async () => {
    const up = await query('up');
    return up.length === 2 && up.every((sample) => sample.value[1] === '1');
  });
  const contentRoute = 'dvs_http_requests_total{route="/content/:id/:file",code="200"}';
  const viewsBefore = valueOf(await query(`sum(${contentRoute})`)) || 0;
  const uploadBefore = await waitFor('the upload counter', async () => {
    const value = valueOf(await query('dvs_upload_bytes_total'));
    return value > 0 && value;
  });
  const blobsBefore = await waitFor('the blob count', async () => valueOf(await query('dvs_storage_blobs')));

  const clip = path.join(dir, 'second.mp4');
  await makeClip(clip, { width: 320, height: 240, seconds: 2 });
  const uploaded = await upload(web.url, 'second-clip.mp4', await readFile(clip));
  assert.ok([202, 303].includes(uploaded.status));
  const second = await waitForVideo(web.url, 'second-clip', (v) => v.state === 'ready');
  for (let i = 0; i < 5; i++) {
    for (const file of second.files) {
      const response = await fetch(`${web.url}/content/second-clip/${file.name}`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
  }
  const views = 5 * second.files.length;
  await waitFor('Prometheus to see the upload, the views and the new blobs', async () => {
    const uploadNow = valueOf(await query('dvs_upload_bytes_total'));
    const viewsNow = valueOf(await query(`sum(${contentRoute})`));
    const blobsNow = valueOf(await query('dvs_storage_blobs'));
    return uploadNow > uploadBefore && viewsNow >= viewsBefore + views && blobsNow > blobsBefore;
  });
});

test('the access log has one line per request and no credential in it', async () => {
  const secretQuery = 'query-secret-0123456789';
  const cookie = 'cookie-secret-0123456789';
  await fetch(`${web.url}/videos/metrics-clip?token=${secretQuery}`, { headers: { Cookie: `dvs_session=${cookie}` } });
  const played = await fetch(`${web.url}/api/videos/metrics-clip/playback`, {
    method: 'POST',
    headers: { ...authHeaders(web.url), 'Content-Type': 'application/json' },
    body: JSON.stringify({ ttl_s: 60 }),
  });
  assert.equal(played.status, 200);
  const { dash } = await played.json();
  const signature = dash.split('/')[4];
  assert.ok(signature.length >= 16, dash);
  assert.equal((await fetch(`${web.url}${dash}`)).status, 200);
  const broken = dash.replace(signature, `${signature.slice(0, -2)}AA`);
  assert.equal((await fetch(`${web.url}${broken}`)).status, 403);

  const lines = await waitFor('the access lines', async () => {
    const access = web.log().split('\n').filter((line) => line.includes('"type":"access"'));
    // A line is written once its response has gone out: wait for the last one.
    return access.some((line) => line.includes('/play/') && line.includes('"status":403')) && access;
  }, 10000);
  const parsed = lines.map((line) => JSON.parse(line));
  assert.ok(parsed.some((entry) => entry.route === '/videos/:id' && entry.status === 200
    && entry.path === '/videos/metrics-clip'), JSON.stringify(parsed.slice(-5)));
  assert.ok(parsed.some((entry) => entry.route === '/play/:id/:expires/:sig/:file'
    && entry.path.includes('/REDACTED/') && entry.status === 403));
  const everything = web.log();
  for (const secret of [secretQuery, cookie, signature, signature.slice(0, -2), web.token]) {
    assert.ok(!everything.includes(secret), `the log holds a secret: ${secret}`);
  }
});

test('--log-format json writes one JSON object per line', async () => {
  for (const [name, log] of [['web', web.log()], ['storage', storage.log()]]) {
    const lines = log.split('\n').filter((line) => line.trim() !== '');
    assert.ok(lines.length > 2, `${name} logged`);
    for (const line of lines) {
      let entry;
      assert.doesNotThrow(() => { entry = JSON.parse(line); }, `${name}: not JSON: ${line}`);
      assert.ok(entry.time && (entry.message !== undefined || entry.type === 'access'), line);
    }
  }
});
