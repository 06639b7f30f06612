// A real S3 store for the integration tests: OpenStack Swift from Debian
// (python3-swift) with its s3api and tempauth middlewares, as four local
// processes (proxy, account, container, object servers) on free 127.0.0.1
// ports, with 1-replica rings built in a temp folder. The access key is
// "test:tester" and the secret "testing" (tempauth's user_test_tester).
//
// Calls to the store from the tests go through the curl command (its libcurl
// signs them, like dvs): a netrc file carries the user, whose name holds a
// colon that --user would split at.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './etcd_cluster.mjs';

const run = promisify(execFile);
const python = process.env.SWIFT_PYTHON || '/usr/bin/python3';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const SWIFT_ACCESS_KEY = 'test:tester';
export const SWIFT_SECRET_KEY = 'testing';

// Swift reads swift.conf from /etc/swift unless told otherwise: the launcher
// points it at the test's folder, then runs one server in the foreground.
const LAUNCHER = `
import sys
from swift.common import utils
utils.set_swift_dir(sys.argv[1])
from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[2], sys.argv[3], verbose=True))
`;

const RING_BUILDER = `
import sys
from swift.cli.ringbuilder import main
main(["swift-ring-builder"] + sys.argv[1:])
`;

function serverConf(dir, port, app, extra = '') {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${os.userInfo().username}
swift_dir = ${dir}
devices = ${path.join(dir, 'devices')}
mount_check = false
log_level = WARNING
${extra}
[pipeline:main]
pipeline = ${app}

[app:${app}]
use = egg:swift#${app.replace('-server', '')}
`;
}

function proxyConf(dir, port, memcachePort) {
  const filters = ['catch_errors', 'gatekeeper', 'healthcheck', 'proxy_logging', 'cache',
    'listing_formats', 's3api', 'tempauth', 'copy', 'slo', 'dlo'];
  let conf = `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${os.userInfo().username}
swift_dir = ${dir}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy_logging cache listing_formats s3api tempauth copy slo dlo proxy_logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${SWIFT_SECRET_KEY} .admin

# tempauth wants a memcache client in every request; with no memcached at this
# (unused) address it finds nothing cached and works all the same.
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachePort}
`;
  for (const filter of filters.filter((f) => f !== 'tempauth' && f !== 'cache')) {
    conf += `\n[filter:${filter}]\nuse = egg:swift#${filter}\n`;
  }
  return conf;
}

async function buildRing(dir, kind, port) {
  const builder = path.join(dir, `${kind}.builder`);
  const step = (...args) => run(python, ['-c', RING_BUILDER, builder, ...args], { cwd: dir })
    .catch((error) => {
      // rebalance exits 1 with a warning about one device: the ring is built
      if (error.code !== 1) throw error;
    });
  await step('create', '6', '1', '0');
  await step('add', `r1z1-127.0.0.1:${port}/d1`, '100');
  await step('rebalance');
  if (!fs.existsSync(path.join(dir, `${kind}.ring.gz`))) throw new Error(`no ${kind} ring built`);
}

async function waitForPort(port, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthcheck`,
        { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return true;  // any HTTP answer: the server listens
    } catch {
      await sleep(200);
    }
  }
  return false;
}

// Starts Swift in `dir` (made empty first). Resolves with the store:
// { endpoint, accessKey, secretKey, s3(method, urlPath, options), createBucket(name),
//   listKeys(bucket, prefix), stopProxy(), startProxy(), pauseProxy(), resumeProxy(),
//   stop() }.
export async function startSwift(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'devices', 'd1'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'swift.conf'),
    '[swift-hash]\nswift_hash_path_suffix = dvs-test\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n');
  const servers = {};
  for (const name of ['account-server', 'container-server', 'object-server', 'proxy-server']) {
    servers[name] = { name, port: await freePort(), child: null, log: '' };
  }
  for (const kind of ['account', 'container', 'object']) {
    await buildRing(dir, kind, servers[`${kind}-server`].port);
  }
  for (const server of Object.values(servers)) {
    server.conf = path.join(dir, `${server.name}.conf`);
    fs.writeFileSync(server.conf, server.name === 'proxy-server'
      ? proxyConf(dir, server.port, await freePort()) : serverConf(dir, server.port, server.name));
  }
  const netrc = path.join(dir, 'netrc');
  fs.writeFileSync(netrc, `machine 127.0.0.1 login ${SWIFT_ACCESS_KEY} password ${SWIFT_SECRET_KEY}\n`);

  const start = async (server) => {
    if (server.child && server.child.exitCode === null && server.child.signalCode === null) return;
    server.log = '';
    const child = spawn(python, ['-c', LAUNCHER, dir, server.conf, server.name],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => { server.log = (server.log + chunk).slice(-20000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    server.child = child;
    if (!await waitForPort(server.port, child, 180000)) {
      throw new Error(`swift ${server.name} did not start:\n${server.log}`);
    }
  };
  const stopServer = async (server) => {
    const child = server.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');  // a paused server would not see the SIGTERM until then
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };

  const endpoint = `http://127.0.0.1:${servers['proxy-server'].port}`;
  // curl as dvs signs: SigV4 with the payload's hash in x-amz-content-sha256.
  const s3 = async (method, urlPath, { query = '' } = {}) => {
    const url = `${endpoint}${urlPath}${query ? `?${query}` : ''}`;
    const { stdout } = await run('curl', ['-sS', '--max-time', '30', '--netrc-file', netrc,
      '--aws-sigv4', 'aws:amz:us-east-1:s3', '-H', `x-amz-content-sha256: ${EMPTY_SHA256}`,
      '-X', method, '-w', '\n%{http_code}', url], { maxBuffer: 64 << 20 });
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  };

  const store = {
    endpoint,
    accessKey: SWIFT_ACCESS_KEY,
    secretKey: SWIFT_SECRET_KEY,
    servers,
    s3,
    async createBucket(name) {
      const deadline = Date.now() + 60000;
      for (;;) {
        const answer = await s3('PUT', `/${name}`);
        if (answer.status === 200) return;
        if (Date.now() > deadline) {
          throw new Error(`cannot create bucket ${name}: ${answer.status} ${answer.body}`);
        }
        await sleep(500);  // the account and container servers may still be coming up
      }
    },
    // Every key under `prefix` (all pages).
    async listKeys(bucket, prefix = '') {
      const keys = [];
      let token = null;
      do {
        const params = [['list-type', '2'], ['prefix', prefix]];
        if (token) params.push(['continuation-token', token]);
        params.sort();
        const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const answer = await s3('GET', `/${bucket}`, { query });
        if (answer.status !== 200) throw new Error(`list failed: ${answer.status} ${answer.body}`);
        for (const match of answer.body.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(match[1]);
        const next = answer.body.match(/<NextContinuationToken>([^<]*)</);
        token = /<IsTruncated>true</.test(answer.body) && next ? next[1] : null;
      } while (token);
      return keys;
    },
    stopProxy: () => stopServer(servers['proxy-server']),
    // SIGSTOP: connections are still accepted (by the kernel), never answered.
    pauseProxy: () => servers['proxy-server'].child.kill('SIGSTOP'),
    resumeProxy: () => servers['proxy-server'].child.kill('SIGCONT'),
    startProxy: () => start(servers['proxy-server']),
    async stop() {
      for (const server of Object.values(servers).reverse()) await stopServer(server);
    },
    logs: () => Object.values(servers).map((s) => `--- ${s.name}\n${s.log.slice(-3000)}`).join('\n'),
  };
  try {
    await Promise.all(Object.values(servers).map(start));
  } catch (error) {
    await store.stop();
    throw error;
  }
  return store;
}
