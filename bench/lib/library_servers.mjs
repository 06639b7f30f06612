// The processes bench/library.mjs measures: a 3-member etcd cluster on
// loopback (with a quota and compaction fit for a large library) and
// `dvs web` timed from spawn to its "serving http://" line.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../tests/integration/etcd_cluster.mjs';
import { benchWebFlags, dvsBinary } from './dvs.mjs';
import { startProcess, stopProcess } from './procs.mjs';
import { statusKb } from './proc_stats.mjs';

const etcdBinary = process.env.ETCD_BINARY || '/usr/bin/etcd';
const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

async function answers(endpoint) {
  try {
    const response = await fetch(`http://${endpoint}/v3/kv/range`, {
      method: 'POST', body: JSON.stringify({ key: 'L2hlYWx0aA==' }), signal: AbortSignal.timeout(1500),
    });
    return response.ok;
  } catch {
    return false;
  }
}

// Starts `size` etcd members in `dir`; resolves once every one answers a
// linearizable read. The result's `commands` are the exact command lines.
export async function startEtcd(dir, { size = 3, quotaBytes = 8 * 2 ** 30 } = {}) {
  const members = [];
  for (let i = 0; i < size; i++) {
    const clientPort = await freePort();
    members.push({ name: `etcd-${i}`, clientPort, peerPort: await freePort(), endpoint: `127.0.0.1:${clientPort}`, log: '' });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const token = `dvs-bench-library-${process.pid}-${Date.now()}`;
  for (const member of members) {
    member.args = [
      `--name=${member.name}`, `--data-dir=${path.join(dir, member.name)}`,
      `--listen-client-urls=http://${member.endpoint}`, `--advertise-client-urls=http://${member.endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-cluster=${initialCluster}`, '--initial-cluster-state=new',
      `--initial-cluster-token=${token}`,
      `--quota-backend-bytes=${quotaBytes}`,
      '--auto-compaction-mode=revision', '--auto-compaction-retention=1000',
    ];
    member.child = startProcess(etcdBinary, member.args);
    const append = (data) => { member.log = (member.log + data).slice(-20000); };
    member.child.stdout.on('data', append);
    member.child.stderr.on('data', append);
  }
  const cluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    pids: () => members.map((m) => m.child.pid),
    commands: members.map((m) => `etcd ${m.args.join(' ')}`),
    stop: () => Promise.all(members.map((m) => stopProcess(m.child))),
  };
  const deadline = Date.now() + 30000;
  while (!(await Promise.all(cluster.endpoints.map(answers))).every(Boolean)) {
    if (Date.now() > deadline || members.some((m) => m.child.exitCode !== null)) {
      await cluster.stop();
      throw new Error(`etcd did not become healthy:\n${members.map((m) => m.log.slice(-800)).join('\n')}`);
    }
    await sleep(200);
  }
  return cluster;
}

// `dvs web --port 0 ... BACKENDS` in `dir`, timed: `startupMs` is from spawn
// to the "serving http://" line; `rssKb` and `peakKb` are VmRSS and VmHWM
// read at that moment.
export async function startTimedWeb(dir, backends, { timeoutMs = 900000, flags = [] } = {}) {
  await mkdir(dir, { recursive: true });
  const staticDir = path.join(path.dirname(dvsBinary), 'static');
  const args = ['web', '--port', '0', '--work-dir', path.join(dir, 'work'), '--static-dir', staticDir, ...benchWebFlags,
    ...flags, ...backends];
  const started = performance.now();
  const child = startProcess(dvsBinary, args, { cwd: dir });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dvs web did not start in ${timeoutMs / 1000} s:\n${log.slice(-3000)}`)), timeoutMs);
    const onData = (data) => {
      log += data;
      if (log.length > 1 << 20) log = log.slice(-(1 << 19));
      const found = log.match(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
      if (found) { clearTimeout(timer); resolve(found[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dvs web exited ${code}:\n${log.slice(-3000)}`)); });
  });
  const startupMs = performance.now() - started;
  return {
    child, pid: child.pid, url, args, startupMs,
    rssKb: statusKb(child.pid, 'VmRSS'), peakKb: statusKb(child.pid, 'VmHWM'),
    log: () => log, stop: () => stopProcess(child),
  };
}

// Lines of the server's log that are warnings or errors.
// (The warning that --anonymous-uploads is on is expected here.)
export const complaints = (web) => web.log().split('\n')
  .filter((l) => /\[(warning|error|critical)\]/.test(l) && !l.includes('--anonymous-uploads'));
