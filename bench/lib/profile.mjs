// Profiles one process with `perf record --call-graph dwarf` while wrk loads
// it, and boils `perf report` down to three short tables: CPU by binary or
// library, the hottest functions by own time, and the dvs functions (and the
// library calls they make) by inclusive time.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startProcess } from './procs.mjs';
import { runWrk } from './wrk.mjs';

const run = promisify(execFile);

// Drops template and function arguments: perf's names for Asio run to pages.
export function shortName(name) {
  let text = name.replace(/\s+\(inlined\)$/, '').replace(/json_abi_v3_11_2::/g, '')
    .replace(/std::__cxx11::/g, 'std::').replace(/std::__n4861::/g, 'std::');
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(/<[^<>]*>/g, '').replace(/\([^()]*\)/g, '');
  }
  return text.trim().slice(0, 100);
}

async function perfReport(file, args) {
  const { stdout } = await run('perf', ['report', '-i', file, '--stdio', '-g', 'none', ...args],
    { maxBuffer: 256 << 20 });
  return stdout.split('\n').filter((line) => /^\s+[\d.]+%/.test(line));
}

// Rows whose shortened names are equal: own times add up; inclusive times
// overlap (an inlined frame inside its function), so the larger one stands.
function mergeRows(rows, add) {
  const merged = new Map();
  for (const row of rows) {
    const previous = merged.get(row.name);
    if (!previous) merged.set(row.name, { ...row });
    else if (add) previous.percent += row.percent;
    else if (previous.percent < row.percent) merged.set(row.name, { ...row });
  }
  return [...merged.values()].sort((a, b) => b.percent - a.percent);
}

// Functions worth naming in the inclusive table: dvs's own, and the library
// calls that show where a request's time goes.
const interesting = new RegExp([
  'dvs::', 'sqlite3_(step|prepare|exec)', 'nlohmann::.*::parse$', 'SHA256', 'sha256',
  '__libc_(pread|pread64|sendmsg|recvmsg|writev|readv|read|write|open64|openat64|close)$',
  '^(open|openat|openat64|__open64_nocancel|__close)$', 'pthread_cond_(signal|wait|broadcast)',
  'epoll_wait', 'grpc::ClientReader', 'grpc::internal::BlockingUnaryCall', 'grpc_call_start_batch',
  'malloc$', '^free$', 'memcpy', 'memset', 'strand_executor_service::invoker', 'co_spawn_entry_point',
  'thread_pool::basic_executor_type::execute', 'beast::http::detail::write_op',
  'beast::http::basic_parser::put', 'strftime', 'gmtime', 'GraphCycles::', '^(mmap64|munmap|__munmap)$',
].join('|'));

// Frames every sample of a thread passes through: they say nothing.
const boring = /^(dvs::web::RunWebServer|boost::beast::http::detail::write_op::write_op)$/;

export async function summarise(file) {
  const dsos = (await perfReport(file, ['--no-children', '--sort', 'dso'])).map((line) => {
    const m = line.match(/^\s+([\d.]+)%\s+(.*?)\s*$/);
    return { percent: Number(m[1]), name: m[2] };
  }).filter((row) => row.percent >= 0.5);
  // Addresses without a symbol (stripped libraries, like libcrypto's SHA-256
  // assembly) are added up per library.
  const self = mergeRows((await perfReport(file, ['--no-children', '--sort', 'dso,sym', '--percent-limit', '0.3']))
    .map((line) => {
      const m = line.match(/^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$/);
      if (!m) return null;
      const name = /^0x[0-9a-f]+$/.test(m[4]) ? `(no symbols: ${m[2]})` : shortName(m[4]);
      return { percent: Number(m[1]), kernel: m[3] === 'k', name };
    }).filter(Boolean), true).filter((row) => row.percent >= 0.8).slice(0, 20);
  const inclusive = mergeRows((await perfReport(file, ['--children', '--sort', 'sym', '--percent-limit', '1']))
    .map((line) => {
      const m = line.match(/^\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$/);
      return m && { percent: Number(m[1]), self: Number(m[2]), kernel: m[3] === 'k', name: shortName(m[4]) };
    }).filter((row) => row && interesting.test(row.name) && !boring.test(row.name)), false).slice(0, 30);
  return { dsos, self, inclusive };
}

// Loads `pid` with wrk (`wrkOptions`) and samples it with perf in the middle
// of the run; `dir` receives the perf data.
export async function profileUnderLoad({ pid, serverPids, wrkOptions, dir, name }) {
  const file = path.join(dir, `${name}.perf.data`);
  const loaded = runWrk(wrkOptions, { serverPids });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const seconds = Math.max(2, wrkOptions.seconds - 2);
  const perfArgs = ['record', '-F', '299', '--call-graph', 'dwarf,16384', '-p', String(pid), '-o', file,
    '--', 'sleep', String(seconds)];
  const perf = startProcess('perf', perfArgs);
  let log = '';
  perf.stderr.on('data', (data) => { log += data; });
  const code = await new Promise((resolve) => perf.on('exit', resolve));
  const load = await loaded;
  if (code !== 0) throw new Error(`perf record exited ${code}:\n${log}`);
  const samples = Number((log.match(/\((\d+) samples\)/) || [])[1] || 0);
  return { name, load, samples, command: `perf ${perfArgs.join(' ')}`, ...(await summarise(file)) };
}
