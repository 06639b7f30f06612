// The cluster plane as an attacker meets it (issue 14, items 6 and 7): real
// `dvs storage` servers that want a cluster token, a `dvs web ... nw` that
// has it, and a gRPC client in node that tries Put, Delete, Get and List
// without it and with a wrong one. Each refusal is checked, and that nothing
// changed. Then the refusals at start-up, TLS with a CA made by openssl, and
// bytes planted under a file's key on every replica, which must never be
// served.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  admin, dvsBinary, killLeftoverServers, makeClip, makeTempDir, removeDir, startStorage,
  startWeb, upload, waitForVideo,
} from './harness.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const definition = protoLoader.loadSync(new URL('../../proto/storage.proto', import.meta.url).pathname,
  { keepCase: true, longs: String, defaults: true, oneofs: true });
const { Storage } = grpc.loadPackageDefinition(definition).dvs.storage.v1;

const clusterToken = randomBytes(24).toString('hex');
const adminToken = randomBytes(24).toString('hex');

function sha256(bytes) { return createHash('sha256').update(bytes).digest('hex'); }

function bearer(token) {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function client(address, credentials = grpc.credentials.createInsecure()) {
  return new Storage(address, credentials);
}

function put(stub, token, key, bytes) {
  return new Promise((resolve) => {
    const call = stub.Put(bearer(token), { deadline: Date.now() + 5000 },
      (error, response) => resolve({ error, response }));
    call.write({ header: { key, size: String(bytes.length), sha256: sha256(bytes) } });
    call.write({ chunk: bytes });
    call.end();
  });
}

function unary(stub, method, token, request) {
  return new Promise((resolve) => stub[method](request, bearer(token), { deadline: Date.now() + 5000 },
    (error, response) => resolve({ error, response })));
}

function streamed(stub, method, token, request) {
  return new Promise((resolve) => {
    const messages = [];
    const call = stub[method](request, bearer(token), { deadline: Date.now() + 5000 });
    call.on('data', (message) => messages.push(message));
    call.on('error', (error) => resolve({ error, messages }));
    call.on('end', () => resolve({ error: null, messages }));
  });
}

function assertUnauthenticated(result, what) {
  assert.ok(result.error, `${what} was not refused`);
  assert.equal(result.error.code, grpc.status.UNAUTHENTICATED, `${what}: ${result.error.details}`);
  assert.match(result.error.details, /missing or wrong cluster token/);
}

// Every blob a node holds, read with the right token.
async function blobsOn(address) {
  const listed = await streamed(client(address), 'List', clusterToken, { video_id: '' });
  assert.ifError(listed.error);
  return listed.messages.flatMap((message) => message.blobs)
    .map((blob) => `${blob.key} ${blob.sha256}`).sort();
}

// Runs `dvs ARGS...`; resolves with its exit code and output.
function runDvs(args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(dvsBinary, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

function adminAddressOf(web) {
  const match = web.log().match(/admin gRPC serving (127\.0\.0\.1:\d+)/);
  assert.ok(match, `no admin address in the log:\n${web.log()}`);
  return match[1];
}

describe('a cluster with a token', () => {
  let dir;
  let tokenFile;
  const nodes = [];
  let web;
  let adminAddress;
  let video;       // { id, manifestKey, manifest }
  let holdings;    // each node's blobs after the upload

  before(async () => {
    dir = await makeTempDir('dvs-cluster-security-');
    tokenFile = path.join(dir, 'cluster-token');
    await writeFile(tokenFile, `${clusterToken}\n`, { mode: 0o600 });
    for (let i = 0; i < 3; ++i) {
      const storageDir = path.join(dir, `storage-${i}`);
      await mkdir(storageDir);
      nodes.push(await startStorage(storageDir, 0, { args: ['--cluster-token-file', tokenFile] }));
    }
    web = await startWeb(dir, ['--cluster-token-file', tokenFile, '--admin-token', adminToken,
      '--cache-mb', '0', 'sqlite', path.join(dir, 'metadata.db'),
      'nw', ['127.0.0.1:0', ...nodes.map((node) => node.address)].join(',')]);
    adminAddress = adminAddressOf(web);

    const clip = path.join(dir, 'guarded.mp4');
    await makeClip(clip, { width: 320, height: 240, seconds: 2 });
    const uploaded = await upload(web.url, 'guarded.mp4', await readFile(clip));
    assert.ok(uploaded.status < 400, `upload: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
    const record = await waitForVideo(web.url, 'guarded', (v) => v.state === 'ready');
    const manifestResponse = await fetch(`${web.url}/content/guarded/manifest.mpd`);
    assert.equal(manifestResponse.status, 200);
    const manifest = Buffer.from(await manifestResponse.arrayBuffer());
    const listed = await streamed(client(nodes[0].address), 'List', clusterToken, { video_id: '' });
    assert.ifError(listed.error);
    const manifestKey = listed.messages.flatMap((m) => m.blobs).map((b) => b.key)
      .find((key) => key.startsWith('guarded/') && key.endsWith('/manifest.mpd'));
    assert.ok(manifestKey, 'the manifest is on the first node');
    video = { id: record.id ?? 'guarded', manifestKey, manifest };
    holdings = await Promise.all(nodes.map((node) => blobsOn(node.address)));
  });

  after(async () => {
    await web?.stop();
    await Promise.all(nodes.map((node) => node.stop()));
    await killLeftoverServers();
    await removeDir(dir);
  });

  async function assertNothingChanged() {
    assert.deepEqual(await Promise.all(nodes.map((node) => blobsOn(node.address))), holdings);
    const served = await fetch(`${web.url}/content/guarded/manifest.mpd`);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), video.manifest);
  }

  for (const [label, token] of [['no token', undefined], ['a wrong token', `${clusterToken}x`]]) {
    test(`storage Put with ${label} is UNAUTHENTICATED and stores nothing`, async () => {
      for (const node of nodes) {
        assertUnauthenticated(await put(client(node.address), token, video.manifestKey,
          Buffer.from('<MPD>forged</MPD>')), 'Put over the manifest');
        assertUnauthenticated(await put(client(node.address), token, 'planted/g/new.bin',
          Buffer.from('planted')), 'Put of a new key');
      }
      await assertNothingChanged();
    });

    test(`storage Delete with ${label} is UNAUTHENTICATED and deletes nothing`, async () => {
      for (const node of nodes) {
        assertUnauthenticated(await unary(client(node.address), 'Delete', token,
          { key: video.manifestKey }), 'Delete of a key');
        assertUnauthenticated(await unary(client(node.address), 'Delete', token,
          { video_id: path.posix.dirname(video.manifestKey) }), 'Delete of a video folder');
      }
      await assertNothingChanged();
    });

    test(`storage Get, List, Stat and Info with ${label} are UNAUTHENTICATED`, async () => {
      const stub = client(nodes[0].address);
      const got = await streamed(stub, 'Get', token, { key: video.manifestKey });
      assertUnauthenticated(got, 'Get');
      assert.equal(got.messages.length, 0, 'Get sent bytes before refusing');
      const listed = await streamed(stub, 'List', token, { video_id: '' });
      assertUnauthenticated(listed, 'List');
      assert.equal(listed.messages.length, 0, 'List sent keys before refusing');
      assertUnauthenticated(await unary(stub, 'Stat', token, { key: video.manifestKey }), 'Stat');
      assertUnauthenticated(await unary(stub, 'Info', token, {}), 'Info');
    });
  }

  test('the admin CLI without the admin token is refused', async () => {
    const refused = await admin('list', adminAddress);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.output.error.code, 'UNAUTHENTICATED');
    const wrong = await admin('list', adminAddress, '--token', `${adminToken}x`);
    assert.equal(wrong.code, 1, wrong.stderr);
    const allowed = await admin('list', adminAddress, '--token', adminToken);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(allowed.output.nodes.sort(), nodes.map((node) => node.address).sort());
  });

  // Last: it changes the stored bytes (as someone holding the token, or a
  // node's disk, could). The web server must never serve them.
  test('bytes planted under a file on every replica are never served', async () => {
    const forged = Buffer.from('<?xml version="1.0"?><MPD>planted by an attacker</MPD>\n');
    for (const node of nodes) {
      const planted = await put(client(node.address), clusterToken, video.manifestKey, forged);
      assert.ifError(planted.error);
    }
    for (const range of [undefined, 'bytes=0-9']) {
      const response = await fetch(`${web.url}/content/guarded/manifest.mpd`,
        { headers: range ? { range } : {} });
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(response.status, 500, `range ${range}: ${response.status} ${body}`);
      assert.ok(!body.includes('planted by an attacker'), 'the planted bytes were served');
      assert.ok(!body.includes(forged.subarray(0, 10)), 'part of the planted bytes was served');
      assert.match(body.toString(), /not the recorded content/);
    }
  });
});

describe('refusals at start-up', () => {
  let dir;
  before(async () => { dir = await makeTempDir('dvs-cluster-refusals-'); });
  after(async () => { await removeDir(dir); });

  test('dvs storage --host 0.0.0.0 without a token refuses to start', async () => {
    const result = await runDvs(['storage', '--host', '0.0.0.0', '--port', '0', path.join(dir, 's')]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout + result.stderr, /without a cluster token/);
  });

  test('dvs storage with an empty token file refuses to start', async () => {
    const empty = path.join(dir, 'empty-token');
    await writeFile(empty, '\n', { mode: 0o600 });
    const result = await runDvs(['storage', '--cluster-token-file', empty, '--port', '0', path.join(dir, 's')]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /holds no token/);
  });

  test('dvs storage with --tls-cert and no --tls-key refuses to start', async () => {
    const result = await runDvs(['storage', '--tls-cert', path.join(dir, 'cert.pem'), '--port', '0', path.join(dir, 's')]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout + result.stderr, /--tls-key/);
  });

  test('a malformed command line exits 2 with the reason, whatever is wrong with it', async () => {
    for (const [args, reason] of [
      [['web', '--copy-parallelism', '0', 'sqlite', path.join(dir, 'm.db'), 'fs', dir], /not in range 1 to 64/],
      [['web', '--port', 'abc'], /Could not convert: --port = abc/],
      [['storage', '--no-such-flag', path.join(dir, 's')], /--no-such-flag/],
    ]) {
      const result = await runDvs(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, reason);
    }
    assert.equal((await runDvs(['web', '--help'])).code, 0);
  });

  test('dvs web --admin-allow-remote without an admin token refuses to start', async () => {
    const result = await runDvs(['web', '--port', '0', '--admin-allow-remote',
      'sqlite', path.join(dir, 'metadata.db'), 'nw', '0.0.0.0:0,127.0.0.1:1'],
      { timeoutMs: 20000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout + result.stderr, /--admin-allow-remote needs an admin token/);
  });
});

describe('TLS with a CA made by openssl', () => {
  let dir;
  let ca;
  let node;
  let web;
  let tokenFile;
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

  before(async () => {
    dir = await makeTempDir('dvs-cluster-tls-');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dvs test CA',
      '-keyout', 'ca.key', '-out', 'ca.pem');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-keyout', 'server.key', '-out', 'server.csr');
    await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem');
    ca = await readFile(path.join(dir, 'ca.pem'));
    tokenFile = path.join(dir, 'cluster-token');
    await writeFile(tokenFile, clusterToken, { mode: 0o600 });
    const tls = ['--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')];
    await mkdir(path.join(dir, 'storage'));
    node = await startStorage(path.join(dir, 'storage'), 0,
      { args: ['--cluster-token-file', tokenFile, ...tls] });
    web = await startWeb(dir, ['--cluster-token-file', tokenFile, '--tls-ca', path.join(dir, 'ca.pem'),
      ...tls, 'sqlite', path.join(dir, 'metadata.db'), 'nw', `127.0.0.1:0,${node.address}`]);
  });

  after(async () => {
    await web?.stop();
    await node?.stop();
    await killLeftoverServers();
    await removeDir(dir);
  });

  test('a storage client trusting the CA, with the token, is served', async () => {
    const info = await unary(client(node.address, grpc.credentials.createSsl(ca)), 'Info', clusterToken, {});
    assert.ifError(info.error);
  });

  test('a plaintext storage client is refused', async () => {
    const info = await unary(client(node.address), 'Info', clusterToken, {});
    assert.ok(info.error);
    assert.equal(info.error.code, grpc.status.UNAVAILABLE, info.error.details);
  });

  test('a storage client without the CA is refused', async () => {
    const info = await unary(client(node.address, grpc.credentials.createSsl()), 'Info', clusterToken, {});
    assert.ok(info.error);
    assert.equal(info.error.code, grpc.status.UNAVAILABLE, info.error.details);
  });

  test('the web server reaches its TLS storage node, and the admin CLI needs the CA', async () => {
    const adminAddress = adminAddressOf(web);
    const trusted = await admin('status', adminAddress, '--tls-ca', path.join(dir, 'ca.pem'));
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(JSON.stringify(trusted.output), new RegExp(node.address));
    assert.doesNotMatch(JSON.stringify(trusted.output), /"(down|unreachable)"/);
    const untrusted = await admin('list', adminAddress, '--timeout', '3');
    assert.notEqual(untrusted.code, 0, untrusted.stdout);
  });
});
