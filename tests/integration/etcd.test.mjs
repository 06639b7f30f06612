// The distributed shape with real processes: a 3-member etcd cluster, three
// `dvs storage` servers and two `dvs web` servers sharing both. Uploads race,
// ring changes race, the etcd leader is killed, quorum is lost and regained,
// and a web server restarts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { admin, authHeaders, makeClip, makeTempDir, removeDir, startStorage, startWeb, upload } from './harness.mjs';
import { startEtcdCluster } from './etcd_cluster.mjs';

let dir;
let etcd;
let clip;
const nodes = [];
const webs = [];  // [{ server, admin }]

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function folder(name) {
  const made = path.join(dir, name);
  await mkdir(made, { recursive: true });
  return made;
}

async function startWebServer(name, seeds) {
  const server = await startWeb(await folder(name), ['--replicas', '2', 'etcd', etcd.endpoints(), 'nw',
    ['127.0.0.1:0', ...seeds].join(',')]);
  return { server, admin: server.log().match(/admin gRPC serving (\S+)/)[1] };
}

// Uploads `name` and waits until it is ready; returns its record.
async function uploadReady(web, name) {
  const response = await upload(web.server.url, name, await readFile(clip), { query: '?wait=1' });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  const video = JSON.parse(body);
  assert.equal(video.state, 'ready', video.error);
  return video;
}

// Every file of `video` through `web`, checked against its SHA-256.
async function fetchAll(web, video) {
  const failures = [];
  for (const file of video.files) {
    const response = await fetch(`${web.server.url}/content/${video.id}/${file.name}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || sha256(bytes) !== file.sha256) failures.push(`${file.name}: ${response.status}`);
  }
  return failures;
}

async function listIds(web) {
  const response = await fetch(`${web.server.url}/api/videos`);
  assert.equal(response.status, 200);
  return (await response.json()).videos.map((v) => v.id).sort();
}

// Retries `attempt` until it returns a truthy value; resolves with the value
// and the time it took.
async function eventually(attempt, timeoutMs) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeoutMs) {
    try {
      last = await attempt();
      if (last) return { value: last, ms: Date.now() - start };
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`not within ${timeoutMs} ms: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

before(async () => {
  dir = await makeTempDir('dvs-etcd-');
  etcd = await startEtcdCluster(await folder('etcd'));
  for (const name of ['s1', 's2', 's3']) nodes.push(await startStorage(await folder(name)));
  const seeds = nodes.map((n) => n.address);
  webs.push(await startWebServer('web-a', seeds));
  webs.push(await startWebServer('web-b', seeds));
  clip = await makeClip(path.join(dir, 'clip.mp4'), { width: 320, height: 180, seconds: 2 });
});

after(async () => {
  for (const web of webs) await web.server.stop('SIGKILL');
  for (const node of nodes) await node.stop('SIGKILL');
  if (etcd) await etcd.stop();
  await removeDir(dir);
});

test('two web servers share the videos: an upload on one is listed, served and deleted on the other', async () => {
  const [a, b] = webs;
  const video = await uploadReady(a, 'shared.mp4');
  assert.ok((await listIds(b)).includes(video.id));
  const seen = await (await fetch(`${b.server.url}/api/videos/${video.id}`)).json();
  assert.equal(seen.state, 'ready');
  assert.deepEqual(await fetchAll(b, seen), []);
  const page = await fetch(`${b.server.url}/videos/${video.id}`);
  assert.equal(page.status, 200);

  const removed = await fetch(`${b.server.url}/api/videos/${video.id}`, { method: 'DELETE', headers: authHeaders(b.server.url) });
  assert.ok([200, 204].includes(removed.status), `delete: ${removed.status}`);
  assert.equal((await fetch(`${a.server.url}/api/videos/${video.id}`)).status, 404);
  assert.equal((await fetch(`${a.server.url}/content/${video.id}/manifest.mpd`)).status, 404);
});

test('two concurrent uploads of one name to two web servers: exactly one wins, the other gets 409', async () => {
  const bytes = await readFile(clip);
  for (const name of ['race-1.mp4', 'race-2.mp4', 'race-3.mp4']) {
    const responses = await Promise.all(webs.map((web) => upload(web.server.url, name, bytes, { query: '?wait=1' })));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409], `${name}: ${statuses}`);
    const loser = responses.find((r) => r.status === 409);
    assert.match(await loser.text(), /exists|taken|already/i);
    const winner = await responses.find((r) => r.status === 200).json();
    assert.equal(winner.state, 'ready');
    // The loser left nothing behind: the winner's files are intact.
    assert.deepEqual(await fetchAll(webs[0], winner), []);
  }
});

test('ring changes: one at a time across web servers, and each server follows the other\'s', async () => {
  const [a, b] = webs;
  const video = await uploadReady(a, 'ring.mp4');
  const extra = [await startStorage(await folder('s4')), await startStorage(await folder('s5'))];
  nodes.push(...extra);
  // Both servers try at once: the lock in etcd lets exactly one run.
  const results = await Promise.all([admin('add', a.admin, extra[0].address), admin('add', b.admin, extra[1].address)]);
  const codes = results.map((r) => r.code).sort();
  assert.deepEqual(codes, [0, 1], results.map((r) => r.stdout + r.stderr).join('\n'));
  const refused = results.find((r) => r.code === 1);
  assert.match(refused.stderr, /in progress|running/i, refused.stderr);
  const added = results[0].code === 0 ? extra[0] : extra[1];
  const spare = added === extra[0] ? extra[1] : extra[0];

  // The other server follows at once (its watch), not at its next restart.
  for (const web of webs) {
    await eventually(async () => {
      const list = await admin('list', web.admin);
      return list.code === 0 && list.output.nodes.includes(added.address);
    }, 5000);
  }
  assert.deepEqual(await fetchAll(a, video), []);
  assert.deepEqual(await fetchAll(b, video), []);

  // Now the refused change runs, from the other server, while both read.
  const other = added === extra[0] ? b : a;
  const second = await admin('add', other.admin, spare.address);
  assert.equal(second.code, 0, second.stderr);
  const removed = await admin('remove', a.admin, added.address);
  assert.equal(removed.code, 0, removed.stderr);
  for (const web of webs) {
    await eventually(async () => {
      const list = await admin('list', web.admin);
      return list.code === 0 && !list.output.nodes.includes(added.address) && list.output.nodes.includes(spare.address);
    }, 5000);
    assert.deepEqual(await fetchAll(web, video), []);
  }
  // Every key is on exactly its replicas.
  const repair = await admin('repair', b.admin);
  assert.equal(repair.code, 0, repair.stderr);
  const report = repair.output.repair || repair.output;
  assert.equal(report.copies_made, 0, repair.stdout);
  assert.equal(report.copies_deleted, 0, repair.stdout);
});

test('kill -9 of the etcd leader: uploads and reads go on within seconds and nothing is lost', async () => {
  const [a, b] = webs;
  const before = await listIds(a);
  const leader = await etcd.leader();
  await etcd.kill(leader);
  const { value: video, ms } = await eventually(async () => {
    const response = await upload(a.server.url, 'after-leader.mp4', await readFile(clip), { query: '?wait=1' });
    return response.status === 200 ? response.json() : null;
  }, 15000);
  assert.equal(video.state, 'ready');
  assert.ok(ms < 10000, `upload resumed after ${ms} ms`);
  const after = await listIds(b);
  for (const id of [...before, video.id]) assert.ok(after.includes(id), `${id} is listed`);
  assert.deepEqual(await fetchAll(b, video), []);
  etcd.start(leader);
  await etcd.waitHealthy();
});

// What a web server answers while etcd has no quorum: the list and the
// content come from memory, writes get a clear 503.
async function expectNoQuorumAnswers(a, known) {
  const list = await fetch(`${a.server.url}/api/videos`);
  assert.equal(list.status, 200, `web server log:\n${a.server.log().slice(-3000)}`);
  assert.deepEqual((await list.json()).videos.map((v) => v.id).sort(), known);
  assert.ok(known.length > 0, 'earlier tests left videos to list');
  const one = await fetch(`${a.server.url}/api/videos/${known[0]}`);
  const reason = await one.text();
  assert.equal(one.status, 503, `${reason}\nweb server log:\n${a.server.log().slice(-3000)}`);
  assert.match(reason, /etcd|quorum|unavailable/i);
  const uploaded = await upload(a.server.url, 'no-quorum.mp4', await readFile(clip));
  assert.equal(uploaded.status, 503, await uploaded.text());
  assert.equal((await fetch(`${a.server.url}/readyz`)).status, 503);
  assert.equal((await fetch(`${a.server.url}/healthz`)).status, 200);
  assert.ok(a.server.alive());
}

test('with 2 of 3 etcd members down: clear 503s, no crash; service returns with them', async () => {
  const [a] = webs;
  const known = await listIds(a);
  await etcd.kill(1);
  await etcd.kill(2);
  try {
    await expectNoQuorumAnswers(a, known);
  } finally {
    // Also after a failed check, so the next tests find a whole cluster.
    etcd.start(1);
    etcd.start(2);
    await etcd.waitHealthy();
  }
  const { ms } = await eventually(async () => (await fetch(`${a.server.url}/api/videos`)).status === 200, 15000);
  assert.ok(ms < 15000);
  assert.deepEqual(await listIds(a), known);  // nothing lost, the refused upload not stored
  await uploadReady(a, 'after-quorum.mp4');
});

test('a restarted web server keeps the ring from etcd, whatever its seeds', async () => {
  const ring = (await admin('list', webs[1].admin)).output.nodes;
  await webs[0].server.stop();
  webs[0] = await startWebServer('web-a', [nodes[0].address]);
  const list = await admin('list', webs[0].admin);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.output.nodes, ring);
  const video = await (await fetch(`${webs[0].server.url}/api/videos/ring`)).json();
  assert.deepEqual(await fetchAll(webs[0], video), []);
});

test('etcd\'s NOSPACE alarm makes /readyz 503 with the alarm named, and ready again once disarmed', async () => {
  const [a] = webs;
  const member = etcd.members[0];
  const call = async (route, body) => (await fetch(`http://${member.endpoint}${route}`, {
    method: 'POST', body: JSON.stringify(body),
  })).json();
  const status = await call('/v3/maintenance/status', {});
  const alarm = { memberID: status.header.member_id, alarm: 'NOSPACE' };
  await call('/v3/maintenance/alarm', { ...alarm, action: 'ACTIVATE' });
  try {
    const ready = await fetch(`${a.server.url}/readyz`, { headers: { Accept: 'application/json' } });
    const reason = await ready.text();
    assert.equal(ready.status, 503, reason);
    assert.match(reason, /NOSPACE/);
    // Lists are still served from memory.
    assert.equal((await fetch(`${a.server.url}/api/videos`)).status, 200);
  } finally {
    await call('/v3/maintenance/alarm', { ...alarm, action: 'DEACTIVATE' });
  }
  assert.equal((await fetch(`${a.server.url}/readyz`)).status, 200);
});
