// Starts the real dvs processes for a benchmark (web in fs or nw mode,
// storage servers), uploads a clip and finds its files.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { startProcess, stopProcess } from './procs.mjs';

export const dvsBinary = path.resolve(process.env.DVS_BINARY || 'build/dvs');

// Starts `dvs ARGS` with cwd `dir` and resolves once its log matches `ready`.
async function startDvs(dir, args, ready, env = {}) {
  const child = startProcess(dvsBinary, args, { cwd: dir, env: { ...process.env, ...env } });
  let log = '';
  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dvs ${args[0]} did not start:\n${log}`)), 30000);
    const onData = (data) => {
      log += data;
      if (log.length > 1 << 20) log = log.slice(-(1 << 19));
      const found = log.match(ready);
      if (found) { clearTimeout(timer); resolve(found); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dvs ${args[0]} exited ${code}:\n${log}`)); });
  });
  return { child, pid: child.pid, match, args, log: () => log, stop: () => stopProcess(child) };
}

// The benchmarks upload without logging in: every server they start is on
// loopback and theirs alone.
export const benchWebFlags = ['--anonymous-uploads'];

// `dvs web --port 0 ... BACKENDS` in `dir`; `url` is where it serves.
export async function startWeb(dir, backends, { flags = [], env = {} } = {}) {
  await mkdir(dir, { recursive: true });
  const staticDir = path.join(path.dirname(dvsBinary), 'static');
  const args = ['web', '--port', '0', '--work-dir', path.join(dir, 'work'), '--static-dir', staticDir,
    ...benchWebFlags, ...flags, ...backends];
  const web = await startDvs(dir, args, /serving (http:\/\/127\.0\.0\.1:\d+)\//, env);
  const admin = web.log().match(/admin gRPC serving (\S+)/);
  return { ...web, url: web.match[1], adminAddress: admin ? admin[1] : null };
}

export async function startStorage(dir) {
  await mkdir(dir, { recursive: true });
  const storage = await startDvs(dir, ['storage', '--port', '0', dir], /serving (127\.0\.0\.1:\d+)/);
  return { ...storage, address: storage.match[1] };
}

// Uploads `clipFile` as `name` and waits until its whole ladder is ready.
export async function uploadAndWait(url, clipFile, name, timeoutMs = 600000) {
  const form = new FormData();
  form.append('file', new Blob([await readFile(clipFile)]), name);
  const response = await fetch(`${url}/upload`, {
    method: 'POST', body: form, headers: { Accept: 'application/json' },
  });
  if (response.status !== 202) throw new Error(`upload of ${name}: ${response.status} ${await response.text()}`);
  const { id } = await response.json();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const video = await (await fetch(`${url}/api/videos/${id}`)).json();
    if (video.state === 'ready') return video;
    if (video.state === 'failed') throw new Error(`${id} failed: ${video.error}`);
    if (Date.now() > deadline) throw new Error(`${id} not ready after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// The ladder's segment (not the quick copy's) closest to `bytes`.
export function segmentNear(video, bytes) {
  const segments = video.files.filter((f) => /^chunk-\d+-\d+\.m4s$/.test(f.name));
  if (segments.length === 0) throw new Error(`${video.id} has no ladder segments`);
  return segments.reduce((best, f) => (Math.abs(f.size - bytes) < Math.abs(best.size - bytes) ? f : best));
}

export function fileNamed(video, name) {
  const file = video.files.find((f) => f.name === name);
  if (!file) throw new Error(`${video.id} has no ${name}`);
  return file;
}
