// A real 3-member etcd cluster of local processes for the integration tests
// (Debian's etcd-server: /usr/bin/etcd), on free 127.0.0.1 ports, with
// members that can be killed with SIGKILL and restarted on their data.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const etcdBinary = process.env.ETCD_BINARY || '/usr/bin/etcd';

// A port the kernel just handed out (and took back): free unless raced.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// etcd's JSON gateway; resolves with the parsed answer, or null when the
// member does not answer in time.
async function gateway(member, route, body = {}) {
  try {
    const response = await fetch(`http://${member.endpoint}${route}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(1500),
    });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

export async function startEtcdCluster(dir, size = 3) {
  const members = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `etcd-${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      child: null,
      log: '',
    });
  }
  for (const member of members) member.endpoint = `127.0.0.1:${member.clientPort}`;
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const token = `dvs-test-${process.pid}-${Date.now()}`;

  const cluster = {
    members,
    endpoints: () => members.map((m) => m.endpoint).join(','),
    // Starts member i on its data; does nothing while it runs.
    start(i) {
      const member = members[i];
      if (member.child && member.child.exitCode === null && member.child.signalCode === null) return;
      member.child = spawn(etcdBinary, [
        `--name=${member.name}`,
        `--data-dir=${path.join(dir, member.name)}`,
        `--listen-client-urls=http://${member.endpoint}`,
        `--advertise-client-urls=http://${member.endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${member.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${token}`,
        '--heartbeat-interval=50',
        '--election-timeout=500',
        // As scripts/cluster.sh and the README: old revisions are compacted.
        '--auto-compaction-mode=revision',
        '--auto-compaction-retention=10000',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      const append = (data) => { member.log = (member.log + data).slice(-20000); };
      member.child.stdout.on('data', append);
      member.child.stderr.on('data', append);
    },
    async kill(i) {
      const { child } = members[i];
      if (child === null || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    // Until every running member answers a linearizable read (so there is
    // a leader and quorum).
    async waitHealthy(timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      const running = members.filter((m) => m.child && m.child.exitCode === null && m.child.signalCode === null);
      while (Date.now() < deadline) {
        const answers = await Promise.all(running.map((m) => gateway(m, '/v3/kv/range', { key: 'L2hlYWx0aA==' })));
        if (answers.every((a) => a !== null)) return;
        await sleep(200);
      }
      throw new Error(`etcd did not become healthy:\n${members.map((m) => m.log.slice(-1500)).join('\n')}`);
    },
    // The index of the current leader.
    async leader() {
      for (let attempt = 0; attempt < 50; attempt++) {
        for (let i = 0; i < members.length; i++) {
          const status = await gateway(members[i], '/v3/maintenance/status');
          if (status && status.leader && status.header && status.header.member_id === status.leader) return i;
        }
        await sleep(200);
      }
      throw new Error('no etcd leader');
    },
    async stop() {
      await Promise.all(members.map((_, i) => cluster.kill(i)));
    },
  };
  for (let i = 0; i < size; i++) cluster.start(i);
  await cluster.waitHealthy();
  return cluster;
}
