#!/usr/bin/env node
// Migration benchmark: three `dvs storage` servers and `dvs web ... nw`
// (replicas 3), uploaded videos, then `dvs admin add` of a fourth server,
// timed. Prints the files and bytes moved, the migration throughput, and
// beside it the disk's own sequential write speed with fsync, measured in the
// same run in the new server's folder, and their ratio.
//
// Each run is made twice, on two layouts of the servers' folders:
// - "own disks": the three first servers keep their files in memory
//   (/dev/shm), standing in for the disks of other machines, and only the new
//   server's folder is on this disk. As on a cluster, the migration reads
//   from the old servers' disks and writes to the new server's, and the
//   disk's write speed is the yardstick. The target is measured here.
// - "one disk": all four folders on this disk, so that each byte moved is
//   read from it and written to it again. Beside it: the disk's speed when
//   one reader and one writer share it (each way), the ceiling of a copy
//   within one disk.
//
// --clips N uploads N transcoded H.264 clips of --seconds each (many small
// segments); --files N uploads N uncompressed 720p videos of --file-seconds
// each (about 41 MB a second, kept whole as the video's source by a web server
// that transcodes nothing), so that the migration moves enough bytes to last
// several seconds. Only one of the two kinds runs: --files wins when both are
// given. --json FILE writes the target row for bench/run.sh.
//
//   node bench/cluster.mjs [--clips 2] [--seconds 30] [--files 24] [--file-seconds 1]
//                          [--disk-mb 512] [--runs 5] [--layouts own,one] [--json FILE]
//                          [--perf FILE [--perf-args '-g -F 499']]
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { admin, makeClip, makeTempDir, removeDir, startStorage, startWeb, upload } from '../tests/integration/harness.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const clips = Number(option('clips', 2));
const seconds = Number(option('seconds', 30));
const files = Number(option('files', 0));
const fileSeconds = Number(option('file-seconds', 1));
const diskMb = Number(option('disk-mb', 512));
const jsonFile = option('json', '');
const runs = Number(option('runs', 5));
// --layouts own,one: which layouts to run (see above); the target needs own.
const layouts = option('layouts', 'own,one').split(',');
if (!layouts.every((layout) => layout === 'own' || layout === 'one') || !layouts.includes('own')) {
  throw new Error('--layouts takes own and one, with own among them');
}
// The target: migration at no less than this share of the disk's speed.
const targetRatio = 0.35;

// O_DIRECT disk work in python3, whose mmap gives the aligned buffer O_DIRECT
// needs: "write COUNT FILE_MB" writes COUNT files of FILE_MB MiB in turn,
// each fsynced before the next, as storage servers write copies; "copy MB"
// reads an MB MiB file while writing another, as a copy between two servers
// sharing the disk does. Prints MB/s (each way, for copy).
const directDisk = `
import mmap, os, sys, threading, time
folder, mode = sys.argv[1], sys.argv[2]
block = mmap.mmap(-1, 1 << 20)
block.write(b"\x5a" * (1 << 20))
def write(path, mb):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT)
    for _ in range(mb):
        os.write(fd, block)
    os.fsync(fd)
    os.close(fd)
def read(path):
    buffer = mmap.mmap(-1, 1 << 20)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    while os.readv(fd, [buffer]) > 0:
        pass
    os.close(fd)
if mode == "write":
    count, file_mb = int(sys.argv[3]), int(sys.argv[4])
    paths = [os.path.join(folder, "direct-%d.bin" % i) for i in range(count)]
    started = time.perf_counter()
    for path in paths:
        write(path, file_mb)
    moved = count * file_mb
else:
    moved = int(sys.argv[3])
    source, target = os.path.join(folder, "rw-source.bin"), os.path.join(folder, "rw-target.bin")
    write(source, moved)
    paths = [source, target]
    started = time.perf_counter()
    threads = [threading.Thread(target=read, args=(source,)), threading.Thread(target=write, args=(target, moved))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
elapsed = time.perf_counter() - started
for path in paths:
    os.unlink(path)
print(moved * (1 << 20) / 1e6 / elapsed)
`;

// Sequential writes of 64 MiB files in `dir`, each fsynced before the next
// starts (as a storage server makes each blob durable): MB/s. Through the
// page cache (node), or with O_DIRECT (directDisk). On this kind of virtual
// disk the page-cache figure swings between about 100 and 1300 MB/s from run
// to run; the O_DIRECT one is steadier.
async function diskWriteSpeed(dir, totalMb, direct) {
  await promisify(execFile)('sync');  // not the writeback of earlier work
  const fileMb = 64;
  const count = Math.max(1, Math.round(totalMb / fileMb));
  if (direct) {
    const { stdout } = await promisify(execFile)('python3', ['-c', directDisk, dir, 'write', String(count), String(fileMb)]);
    return Number(stdout.trim());
  }
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const file = await open(path.join(dir, `disk-${i}.bin`), 'w');
    for (let mb = 0; mb < fileMb; mb++) await file.write(chunk);
    await file.sync();
    await file.close();
  }
  const elapsed = (performance.now() - started) / 1000;
  for (let i = 0; i < count; i++) await rm(path.join(dir, `disk-${i}.bin`));
  return (count * fileMb * (1 << 20)) / 1e6 / elapsed;
}

// Both ways of writing, in the new storage server's folder.
async function diskSpeeds(dir) {
  return { cached: await diskWriteSpeed(dir, diskMb, false), direct: await diskWriteSpeed(dir, diskMb, true) };
}

async function diskCopySpeed(dir) {
  await promisify(execFile)('sync');
  const { stdout } = await promisify(execFile)('python3', ['-c', directDisk, dir, 'copy', String(diskMb)]);
  return Number(stdout.trim());
}

// The machine's CPU time so far, from /proc/stat: [total, steal] in ticks.
// Steal is time this virtual machine's cores were taken by others: a run with
// much of it is slower for reasons outside dvs.
async function machineTicks() {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return [fields.reduce((sum, n) => sum + n, 0), fields[7] ?? 0];
}

async function uploadVideos(web, dir) {
  if (files > 0) {
    const raw = path.join(dir, 'raw.mkv');
    await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
      `testsrc2=size=1280x720:rate=30:duration=${fileSeconds}`, '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', raw]);
    const bytes = await readFile(raw);
    for (let i = 0; i < files; i++) {
      const response = await upload(web.url, `raw-${i}.mkv`, bytes, { headers: { accept: 'application/json' } });
      if (response.status >= 400) throw new Error(`upload ${i}: ${response.status} ${await response.text()}`);
    }
    return;
  }
  const clip = await readFile(await makeClip(path.join(dir, 'clip.mp4'), { seconds }));
  for (let i = 0; i < clips; i++) {
    const response = await upload(web.url, `clip-${i}.mp4`, clip, { query: '?wait=1' });
    if (response.status !== 200) throw new Error(`upload ${i}: ${response.status}`);
  }
}

// CPU seconds (user + system) a process has used so far, from /proc.
async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;  // utime, stime
}
const clockTicks = Number((await promisify(execFile)('getconf', ['CLK_TCK'])).stdout.trim());

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const both = (d) => `${d.cached.toFixed(0)} / ${d.direct.toFixed(0)}`;

// One whole run on a fresh cluster: its table row and ratio. `ownDisks`: the
// three first servers' folders are in memory (see the top of the file).
async function migrateOnce(ownDisks) {
  const dir = await makeTempDir('dvs-bench-cluster-');
  const memory = ownDisks ? await mkdtemp('/dev/shm/dvs-bench-cluster-') : dir;
  const nodes = [];
  let web;
  try {
    for (const name of ['s1', 's2', 's3', 's4']) {
      const folder = path.join(name === 's4' ? dir : memory, name);
      await mkdir(folder);
      nodes.push(await startStorage(folder));
    }
    const newFolder = nodes[3].dir;
    web = await startWeb(dir, [...(files > 0 ? ['--jobs', '0'] : []), 'sqlite', './data/metadata.db', 'nw',
      ['127.0.0.1:0', ...nodes.slice(0, 3).map((n) => n.address)].join(',')]);
    const adminAddress = web.log().match(/admin gRPC serving (\S+)/)[1];
    await uploadVideos(web, dir);
    const before = await admin('status', adminAddress);
    const diskBefore = await diskSpeeds(newFolder);
    const copyCeiling = ownDisks ? 0 : await diskCopySpeed(newFolder);
    await promisify(execFile)('sync');
    // --perf FILE: a system-wide profile of the migration alone (for finding
    // its costs); --perf-args replaces the sampling options, e.g.
    // "-F 299 --call-graph dwarf,32768" for stacks through code built
    // without frame pointers, or "-e context-switches -c 1".
    const perfArgs = option('perf-args', '-g -F 499').split(' ').filter(Boolean);
    const perf = option('perf', '') && spawn('perf', ['record', '-a', ...perfArgs, '-o', option('perf'), '--quiet'],
      { stdio: 'ignore' });
    const pids = [web.child.pid, ...nodes.map((n) => n.pid)];
    const cpuBefore = await Promise.all(pids.map(cpuSeconds));
    const ticksBefore = await machineTicks();
    const started = performance.now();
    const added = await admin('add', adminAddress, nodes[3].address);
    const elapsed = (performance.now() - started) / 1000;
    const cpuAfter = await Promise.all(pids.map(cpuSeconds));
    const ticksAfter = await machineTicks();
    const steal = (ticksAfter[1] - ticksBefore[1]) / Math.max(1, ticksAfter[0] - ticksBefore[0]);
    const cpu = cpuAfter.reduce((sum, t, i) => sum + t - cpuBefore[i], 0);
    if (perf) {
      const done = new Promise((resolve) => perf.on('exit', resolve));
      perf.kill('SIGINT');
      await done;
    }
    if (added.code !== 0) throw new Error(added.stderr);
    const diskAfter = await diskSpeeds(newFolder);
    const after = await admin('status', adminAddress);
    const moved = after.output.nodes.find((n) => n.address === nodes[3].address).bytes_used;
    const stored = before.output.nodes.reduce((sum, n) => sum + n.bytes_used, 0);
    // The fastest of the four disk runs: the strictest yardstick.
    const disk = Math.max(diskBefore.cached, diskBefore.direct, diskAfter.cached, diskAfter.direct);
    const speed = moved / 1e6 / elapsed;
    const ratio = speed / disk;
    const ceiling = ownDisks ? '' : ` (read + write at once: ${copyCeiling.toFixed(0)} MB/s each way, ` +
      `${(speed / copyCeiling).toFixed(2)}× of it)`;
    const row = `| ${ownDisks ? 'own disks' : 'one disk'} | ${mb(stored)} | ${added.output.migrated_file_count} | ` +
      `${mb(moved)} | ${elapsed.toFixed(2)} s | ${speed.toFixed(1)} MB/s | ${(cpu / (moved / 1e9)).toFixed(2)} s | ` +
      `${(cpu / elapsed).toFixed(2)} | ${(steal * 100).toFixed(0)} % | ${both(diskBefore)} MB/s | ` +
      `${both(diskAfter)} MB/s | ${ratio.toFixed(2)}×${ceiling} |`;
    return { row, ratio, speed, disk };
  } finally {
    if (web) await web.stop();
    for (const node of nodes) await node.stop();
    await removeDir(dir);
    if (ownDisks) await removeDir(memory);
  }
}

console.log('| old servers\' files | stored before (all replicas) | files migrated | bytes onto the new node | time | migration | dvs CPU per GB moved | cores busy | steal | disk before: page cache / O_DIRECT | disk after: page cache / O_DIRECT | migration / fastest disk run |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const results = { own: [], one: [] };
for (let run = 0; run < runs; run++) {
  for (const ownDisks of layouts.map((layout) => layout === 'own')) {
    const result = await migrateOnce(ownDisks);
    console.log(result.row);
    results[ownDisks ? 'own' : 'one'].push(result);
  }
}
// The run with the median ratio stands for all (the machine is shared).
const medianOf = (list) => [...list].sort((a, b) => a.ratio - b.ratio)[Math.floor((list.length - 1) / 2)];
const median = medianOf(results.own);
const shared = results.one.length > 0 ? medianOf(results.one) : null;
console.log();
console.log(`Disk: ${diskMb} MB in 64 MiB files, each written and fsynced in turn, in the new storage server's folder, ` +
  'through the page cache and with O_DIRECT, before and after the migration; the fastest of the four runs is the yardstick. ' +
  'Migration time is the whole `dvs admin add` (listing, planning, copies, commit, clean-up). ' +
  '"dvs CPU" is the user + system time of the web server and the four storage servers over that time (2 cores: at most 2 busy); ' +
  '"steal" is the share of the machine\'s CPU time its host gave to others meanwhile. ' +
  '"Own disks": the three old servers\' folders are in memory (/dev/shm), standing in for other machines\' disks, so that the ' +
  'migration writes this disk and reads another, as on a cluster; "one disk": all four folders share this disk, which then ' +
  'carries both the reads and the writes of every byte moved. ' +
  `${runs} runs of each, each on a fresh cluster, alternating; the target is the own-disks run with the median ratio ` +
  `(the lower one of an even count): ${median.ratio.toFixed(2)}× (${median.speed.toFixed(0)} of ${median.disk.toFixed(0)} MB/s). ` +
  (shared ? `One disk, median: ${shared.ratio.toFixed(2)}× (${shared.speed.toFixed(0)} of ${shared.disk.toFixed(0)} MB/s).` : ''));
if (jsonFile) {
  await writeFile(jsonFile, JSON.stringify({ targets: [{
    what: 'migration (`dvs admin add`) / disk write speed with fsync, same run (old servers on their own disks)',
    measured: `${median.ratio.toFixed(2)}× (${median.speed.toFixed(0)} of ${median.disk.toFixed(0)} MB/s; median of ${runs} runs)`,
    target: `≥ ${targetRatio}×`, met: median.ratio >= targetRatio,
  }] }));
}
