// Durable jobs with real processes (issue #15): a 3-member etcd cluster,
// three `dvs storage` servers (every file on all three: a write needs two)
// and two `dvs web` servers. A storage blip while a ladder is stored is
// retried, not a failed video; a restart of one web server leaves the
// other's jobs alone; a killed server's or worker's task is taken over.
// A ladder's tasks (one per rendition, the audio, the packaging) may be
// shared by every process that runs jobs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { authHeaders, killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage, startWeb, startWorker, upload, waitForVideo } from './harness.mjs';
import { startEtcdCluster } from './etcd_cluster.mjs';

let dir;
let etcd;
const nodes = [];
const webs = {};
const workers = [];
const json = { headers: { Accept: 'application/json' } };

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function folder(name) {
  const made = path.join(dir, name);
  await mkdir(made, { recursive: true });
  return made;
}

async function startWebServer(name) {
  webs[name] = await startWeb(await folder(name), ['--replicas', '3', 'etcd', etcd.endpoints(), 'nw',
    ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
  return webs[name];
}

// Starts `dvs worker` in its own folder on this cluster.
async function startWorkerNamed(name) {
  const worker = await startWorker(path.join(dir, name), ['etcd', etcd.endpoints(), 'nw',
    ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
  workers.push(worker);
  return worker;
}

// Every file of the video `id` through `web`, checked against its SHA-256.
async function fetchAll(web, id) {
  const video = await (await fetch(`${web.url}/api/videos/${id}`)).json();
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${web.url}/content/${id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
  }
  return { video, failures };
}

// waitForVideo until `id` is no longer processing, with the logs of the web
// servers in the error when it does not settle in time.
async function settle(web, id, timeoutMs) {
  try {
    return await waitForVideo(web.url, id, (v) => v.state !== 'processing', timeoutMs);
  } catch (error) {
    const logs = Object.entries(webs).map(([name, w]) => `--- web ${name}:\n${w.log().slice(-6000)}`);
    error.message += `\n${logs.join('\n')}`;
    throw error;
  }
}

before(async () => {
  dir = await makeTempDir('dvs-jobs-');
  etcd = await startEtcdCluster(await folder('etcd'));
  for (const name of ['s1', 's2', 's3']) nodes.push(await startStorage(await folder(name)));
  await startWebServer('a');
  await startWebServer('b');
});

after(async () => {
  for (const node of nodes) {
    try { process.kill(node.pid, 'SIGCONT'); } catch { /* gone */ }
  }
  for (const worker of workers) worker.child.kill('SIGKILL');
  await killLeftoverServers();
  if (etcd) await etcd.stop();
  await removeDir(dir);
});

test('two of three storage servers paused for 8 s while a video is stored: it is retried and ends ready', async () => {
  const clip = await makeClip(path.join(dir, 'blip.mp4'), { width: 320, height: 180, seconds: 6 });
  const response = await upload(webs.a.url, 'blip.mp4', await readFile(clip), json);
  assert.equal(response.status, 202, await response.text());
  for (const node of nodes.slice(1)) process.kill(node.pid, 'SIGSTOP');
  await sleep(8000);
  for (const node of nodes.slice(1)) process.kill(node.pid, 'SIGCONT');
  const video = await settle(webs.a, 'blip', 120000);
  assert.equal(video.state, 'ready', `${video.error}\n${webs.a.log().slice(-3000)}`);
  assert.match(webs.a.log(), /job of blip failed \(will retry\)/, 'the blip was met, and retried');
  const { failures } = await fetchAll(webs.a, 'blip');
  assert.deepEqual(failures, []);
});

test('web server B restarted during A\'s job: A\'s video stays playable and ends ready', async () => {
  const clip = await makeClip(path.join(dir, 'steady.mp4'), { width: 640, height: 360, seconds: 20 });
  const response = await upload(webs.a.url, 'steady.mp4', await readFile(clip), json);
  assert.equal(response.status, 202, await response.text());
  await waitForVideo(webs.a.url, 'steady', (v) => v.playable || v.state !== 'processing', 60000);
  await webs.b.stop();
  await startWebServer('b');
  for (let i = 0; i < 10; ++i) {
    const video = await (await fetch(`${webs.b.url}/api/videos/steady`)).json();
    assert.notEqual(video.state, 'failed', video.error);
    if (video.state === 'processing' && video.playable) {
      assert.equal((await fetch(`${webs.a.url}${video.urls.dash}`)).status, 200, 'still playable');
    }
    await sleep(200);
  }
  const video = await waitForVideo(webs.a.url, 'steady', (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', video.error);
  // B may have run some of the ladder's tasks; its restart gave them back.
  assert.doesNotMatch(webs.b.log(), /video steady failed|job of steady failed|job of steady was dropped/,
    'B\'s restart did not harm the job');
  const { failures } = await fetchAll(webs.b, 'steady');
  assert.deepEqual(failures, []);
});

test('a video failed by its time limit keeps its source and is retried after a restart', async () => {
  const home = await folder('solo');
  // A limit of 0.001 times the duration (20 ms), at least the floor of 1 s.
  let web = await startWeb(home, ['--timeout-factor', '0.001', '--transcode-timeout', '1', '--retry-for', '0']);
  const clip = await makeClip(path.join(dir, 'slow.mp4'), { width: 640, height: 360, seconds: 20 });
  assert.equal((await upload(web.url, 'slow.mp4', await readFile(clip), json)).status, 202);
  let video = await waitForVideo(web.url, 'slow', (v) => v.state !== 'processing', 120000);
  assert.equal(video.state, 'failed');
  assert.match(video.error, /longer than the limit/);
  await web.stop();
  web = await startWeb(home);
  const retry = (headers) => fetch(`${web.url}/api/videos/slow/retry`,
    { method: 'POST', headers: { Accept: 'application/json', ...headers } });
  assert.equal((await retry({})).status, 401, 'an anonymous caller may not retry');
  const retried = await retry(authHeaders(web.url));
  assert.equal(retried.status, 200, await retried.text());
  video = await waitForVideo(web.url, 'slow', (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', video.error);
  const again = await retry(authHeaders(web.url));
  assert.equal(again.status, 422, 'a ready video has nothing to retry');
  assert.match((await again.json()).error, /has not failed/);
  await web.stop();
});

test('web server A killed -9 during its job: B takes the job over once the lease expires and the video ends ready', async () => {
  const clip = await makeClip(path.join(dir, 'handoff.mp4'), { width: 640, height: 360, seconds: 20 });
  const response = await upload(webs.a.url, 'handoff.mp4', await readFile(clip), json);
  assert.equal(response.status, 202, await response.text());
  const started = Date.now();
  // A rendition's task, which runs for seconds (the audio's may end at once).
  const claimed = /job of handoff \(generation [^)]*\) starts \(task video-/;
  while (!claimed.test(webs.a.log()) && Date.now() - started < 60000) await sleep(50);
  assert.match(webs.a.log(), claimed, 'A claimed a task of the job');
  await webs.a.stop('SIGKILL');
  const video = await waitForVideo(webs.b.url, 'handoff', (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', `${video.error}\n${webs.b.log().slice(-3000)}`);
  assert.match(webs.b.log(), /job of handoff: taken over from process/);
  assert.match(webs.b.log(), /fetched the source of video handoff/);
  const { failures } = await fetchAll(webs.b, 'handoff');
  assert.deepEqual(failures, []);
  await startWebServer('a');
});

// Web servers A and B (running jobs) are stopped first: they share the
// queue, and would take the job (or the killed worker's task) themselves.
test('dvs web --jobs 0 with two workers: kill -9 of the worker running the job, the other finishes it', async () => {
  await webs.a.stop();
  await webs.b.stop();
  const web = await startWeb(await folder('c'), ['--jobs', '0', '--replicas', '3', 'etcd', etcd.endpoints(), 'nw',
    ['127.0.0.1:0', ...nodes.map((n) => n.address)].join(',')]);
  const pair = [await startWorkerNamed('w1'), await startWorkerNamed('w2')];
  const clip = await makeClip(path.join(dir, 'worked.mp4'), { width: 640, height: 360, seconds: 20 });
  const response = await upload(web.url, 'worked.mp4', await readFile(clip), json);
  assert.equal(response.status, 202, await response.text());
  const started = Date.now();
  let running;
  while (!running && Date.now() - started < 60000) {
    running = pair.find((w) => /job of worked \(generation [^)]*\) starts \(task video-/.test(w.log()));
    await sleep(50);
  }
  assert.ok(running, `no worker claimed the job\nweb:\n${web.log().slice(-3000)}\nw1:\n${pair[0].log()}`);
  const other = pair.find((w) => w !== running);
  running.child.kill('SIGKILL');
  const video = await waitForVideo(web.url, 'worked', (v) => v.state !== 'processing', 180000);
  assert.equal(video.state, 'ready', `${video.error}\n${other.log().slice(-3000)}`);
  assert.match(other.log(), /job of worked: taken over from process/, `running:\n${running.log()}\nweb:\n${web.log().slice(-4000)}`);
  assert.doesNotMatch(web.log(), /job of worked/, 'the web server with --jobs 0 ran nothing');
  const { failures } = await fetchAll(web, 'worked');
  assert.deepEqual(failures, []);
  await web.stop();
  await startWebServer('a');
  await startWebServer('b');
});
