// Every process a benchmark starts goes through here, so that all of them are
// stopped at the end, on an error and on SIGINT/SIGTERM. Each pid is also
// appended to $DVS_BENCH_PIDFILE (when set) so that bench/run.sh can stop
// what is left if node itself is killed.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';

const children = new Set();
const tempDirs = new Set();
const exitHooks = [];

// Spawns `command args` and keeps it until stopAll(). `options` are spawn's.
export function startProcess(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  if (child.pid && process.env.DVS_BENCH_PIDFILE) {
    appendFileSync(process.env.DVS_BENCH_PIDFILE, `${child.pid}\n`);
  }
  return child;
}

export function alive(child) {
  return child.exitCode === null && child.signalCode === null;
}

// SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited.
export async function stopProcess(child, graceMs = 5000) {
  if (!alive(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => { if (alive(child)) child.kill('SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(timer);
}

export function removeLater(dir) {
  tempDirs.add(dir);
  return dir;
}

export function onCleanup(hook) {
  exitHooks.push(hook);
}

let stopping = null;
export function stopAll() {
  stopping ??= (async () => {
    for (const hook of exitHooks.splice(0)) {
      try { await hook(); } catch { /* cleanup goes on */ }
    }
    await Promise.all([...children].map((child) => stopProcess(child)));
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
    tempDirs.clear();
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every process this benchmark started`);
    stopAll().finally(() => process.exit(130));
  });
}
