// Runs wrk and reads its report: requests/s, latency percentiles, socket
// errors and non-2xx/3xx answers; meanwhile measures the CPU time the
// server's processes used.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startProcess } from './procs.mjs';
import { totalCpuSeconds, sampleRss } from './proc_stats.mjs';

const unitsMs = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

function durationMs(text) {
  const match = text.match(/^([\d.]+)(us|ms|s|m|h)$/);
  return match ? Number(match[1]) * unitsMs[match[2]] : null;
}

export function parseWrk(output) {
  const number = (re) => { const m = output.match(re); return m ? Number(m[1]) : 0; };
  const latency = output.match(/Latency\s+(\S+)\s+(\S+)\s+(\S+)/);
  const percentiles = {};
  for (const m of output.matchAll(/^\s+(50|75|90|99)(?:\.000)?%\s+(\S+)/gm)) {
    percentiles[`p${m[1]}`] = durationMs(m[2]);
  }
  const socket = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = socket
    ? { connect: +socket[1], read: +socket[2], write: +socket[3], timeout: +socket[4] }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  return {
    requests: number(/(\d+) requests in/),
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    latencyAvgMs: latency ? durationMs(latency[1]) : null,
    latencyMaxMs: latency ? durationMs(latency[3]) : null,
    ...percentiles,
    errors,
    socketErrors: errors.connect + errors.read + errors.write + errors.timeout,
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
  };
}

export function wrkCommand({ url, connections, threads = 2, seconds, script, timeout = '5s' }) {
  const args = [`-t${Math.min(threads, connections)}`, `-c${connections}`, `-d${seconds}s`,
    '--latency', '--timeout', timeout];
  if (script) args.push('-s', script);
  args.push(url);
  return { command: 'wrk', args, text: `wrk ${args.join(' ')}` };
}

// Runs wrk to completion. `serverPids` are charged the CPU used meanwhile;
// `rssPid`, when given, is sampled every 100 ms.
export async function runWrk(options, { serverPids = [], rssPid } = {}) {
  const { command, args, text } = wrkCommand(options);
  const cpuBefore = totalCpuSeconds(serverPids);
  const rss = rssPid ? sampleRss(rssPid) : null;
  const started = performance.now();
  const child = startProcess(command, args);
  let output = '';
  child.stdout.on('data', (data) => { output += data; });
  child.stderr.on('data', (data) => { output += data; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = totalCpuSeconds(serverPids) - cpuBefore;
  const memory = rss ? rss.stop() : null;
  if (code !== 0) throw new Error(`${text} exited ${code}:\n${output}`);
  return {
    command: text,
    connections: options.connections,
    ...parseWrk(output),
    serverCpuPercent: serverPids.length ? (100 * cpu) / elapsed : null,
    serverRssPeakMb: memory ? memory.peakKb / 1024 : null,
    raw: output,
  };
}

// A wrk Lua script that cycles through `paths` (the counter is per wrk thread).
export async function writeCycleScript(dir, name, paths) {
  const file = path.join(dir, `${name}.lua`);
  const list = paths.map((p) => JSON.stringify(p)).join(', ');
  await writeFile(file, `-- ${name}: cycles through the paths
local paths = { ${list} }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
`);
  return file;
}
