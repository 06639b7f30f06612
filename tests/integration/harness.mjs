// Shared by the integration tests: start a real `dvs web` in a temp folder on
// a free port, make clips with ffmpeg, and speak raw HTTP when a test needs
// bytes that fetch() would normalise (like "../").
import { spawn, execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const dvsBinary = path.resolve(process.env.DVS_BINARY || 'build/dvs');

export async function makeTempDir(prefix = 'dvs-test-') {
  return mkdtemp(path.join(tmpdir(), prefix));
}

// The first admin's password in every server started here.
export const adminPassword = 'admin-password-for-tests';

// An API token per server URL, made by startWeb (admin, every scope), which
// upload() and authHeaders() send.
const tokens = new Map();

export function authHeaders(baseUrl) {
  const token = tokens.get(baseUrl);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// The same, as a header line for raw requests.
export function authLine(baseUrl) {
  const token = tokens.get(baseUrl);
  return token ? `Authorization: Bearer ${token}\r\n` : '';
}

// POST /api/tokens with HTTP Basic; resolves to { status, body }.
export async function makeToken(baseUrl, { user = 'admin', password = adminPassword,
  scopes = ['upload', 'delete', 'admin'], ttl_s = 7200, label } = {}) {
  const response = await fetch(`${baseUrl}/api/tokens`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ scopes, ttl_s, label }),
  });
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { text }; }
  return { status: response.status, body };
}

// Starts `dvs web --port 0 ...` with cwd `dir` and DVS_ADMIN_PASSWORD set;
// resolves once it prints the address it serves, with a token made.
// `ulimit`: arguments of the shell's ulimit ('-Sn 1024') it starts under.
export async function startWeb(dir, args = [], { env = {}, ulimit } = {}) {
  const argv = ['web', '--port', '0', ...args];
  const options = {
    cwd: dir,
    env: { ...process.env, DVS_ADMIN_PASSWORD: adminPassword, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const child = track(ulimit
    ? spawn('/bin/sh', ['-c', `ulimit ${ulimit} && exec "$@"`, 'sh', dvsBinary, ...argv], options)
    : spawn(dvsBinary, argv, options));
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dvs did not start:\n${log}`)), 20000);
    const onData = (data) => {
      log += data;
      const match = log.match(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dvs exited ${code}:\n${log}`)); });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
  });
  child.stderr.on('data', (data) => { log += data; });
  const made = await makeToken(url).catch(() => null);
  if (made?.status === 201) tokens.set(url, made.body.token);
  return {
    url,
    token: tokens.get(url),
    child,
    log: () => log,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

// Every dvs process started here that has not exited yet.
const running = new Set();

function track(child) {
  running.add(child);
  child.on('exit', () => running.delete(child));
  // One that could not be started (a missing cwd, say) never exits.
  child.on('error', () => running.delete(child));
  return child;
}

// SIGKILLs every dvs process started here that is still running, and waits
// for them to exit. For a test file's after(): one server a test lost track
// of would otherwise keep node, and so the test file, running forever.
export async function killLeftoverServers() {
  const exits = [...running].map((child) => new Promise((resolve) => {
    child.on('exit', resolve);
    child.kill('SIGKILL');
  }));
  await Promise.all(exits);
}

// Starts `dvs storage --port PORT [ARGS...] DIR`; resolves with its address
// once it serves.
export async function startStorage(dir, port = 0, { args = [] } = {}) {
  const child = track(spawn(dvsBinary, ['storage', '--port', String(port), ...args, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let log = '';
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dvs storage did not start:\n${log}`)), 20000);
    const onData = (data) => {
      log += data;
      const match = log.match(/serving (127\.0\.0\.1:\d+)/);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dvs storage exited ${code}:\n${log}`)); });
  });
  return {
    address,
    dir,
    pid: child.pid,
    port: Number(address.split(':')[1]),
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

// Starts `dvs worker --work-dir DIR/work ARGS...` (ARGS ends with its
// backends: etcd ENDPOINTS nw ADMIN,NODES); resolves once it runs.
export async function startWorker(dir, args) {
  await mkdir(dir, { recursive: true });
  const child = track(spawn(dvsBinary, ['worker', '--work-dir', path.join(dir, 'work'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dvs worker did not start:\n${log}`)), 20000);
    const onData = (data) => {
      log += data;
      if (/dvs worker running/.test(log)) { clearTimeout(timer); resolve(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`dvs worker exited ${code}:\n${log}`)); });
  });
  return {
    dir,
    child,
    pid: child.pid,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

// Runs `dvs admin ARGS... --json`; resolves with the exit code and the parsed output.
export async function admin(...args) {
  return new Promise((resolve) => {
    execFile(dvsBinary, ['admin', ...args, '--json'], (error, stdout, stderr) => {
      let output = null;
      try { output = JSON.parse(stdout); } catch { /* not JSON */ }
      resolve({ code: error ? error.code : 0, output, stdout, stderr });
    });
  });
}

// An H.264/AAC clip of test pattern and tone.
export async function makeClip(file, { width = 1280, height = 720, seconds = 8, audio = true } = {}) {
  const args = ['-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (audio) args.push('-c:a', 'aac');
  args.push('-movflags', '+faststart', file);
  await run('ffmpeg', args);
  return file;
}

// As the admin (the token startWeb made) unless `anonymous`.
export async function upload(baseUrl, fileName, bytes, { headers = {}, query = '', anonymous = false } = {}) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), fileName);
  return fetch(`${baseUrl}/upload${query}`, {
    method: 'POST', body: form, redirect: 'manual',
    headers: { ...(anonymous ? {} : authHeaders(baseUrl)), ...headers },
  });
}

export async function waitForVideo(baseUrl, id, predicate, timeoutMs = 300000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    const response = await fetch(`${baseUrl}/api/videos/${id}`);
    last = await response.json();
    if (predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`video ${id} did not settle: ${JSON.stringify(last)}`);
}

// Calls `check` until it gives true or `timeoutMs` pass; returns its last
// value (true, or what it gave last: say what was found instead).
export async function waitUntil(check, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value === true || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Sends `request` verbatim and returns the status line's code and the raw text.
export function rawRequest(baseUrl, request) {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('end', () => resolve({ status: Number(data.split(' ')[1]), text: data }));
    socket.on('error', reject);
    socket.setTimeout(10000, () => { socket.destroy(); reject(new Error('raw request timed out')); });
  });
}

export async function rawGet(baseUrl, target) {
  return rawRequest(baseUrl, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true });
}
