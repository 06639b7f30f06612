#!/usr/bin/env node
// Writes bench/RESULTS.md from the fragments one bench/run.sh run produced
// (FRAGMENTS/SECTION.md + SECTION.json). Sections not run this time are kept
// from the previous report, as is the hand-written analysis block, so that a
// quick `--only serve` run does not throw the rest away.
//
//   node bench/lib/report.mjs --fragments DIR --out bench/RESULTS.md --command "bench/run.sh ..."
//       [--binary PATH] [--load-before X] [--load-after Y]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { table } from './format.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const fragments = option('fragments');
const out = option('out', 'bench/RESULTS.md');
const sections = [
  ['serve', '1. Serving: dvs against nginx'],
  ['viewers', '2. Many viewers'],
  ['upload', '3. Upload memory'],
  ['pipeline', '4. Pipeline: upload to playable'],
  ['cluster', '5. Cluster: ring balance and migration'],
  ['profile', '6. Profile of dvs web under load'],
  ['s3', '6c. S3 content (Swift) beside fs'],
  ['workers', '6b. Workers: one long video\'s ladder on one and two workers'],
];

const quiet = (command, args) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
};

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) || []).length;
  const memKb = Number((readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m) || [])[1]);
  const mhz = (cpuinfo.match(/^cpu MHz\s*:\s*([\d.]+)/m) || [])[1];
  const debian = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : '';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const first = (text) => (text || '').split('\n')[0];
  const tools = [
    first(quiet('sh', ['-c', 'wrk -v 2>&1; true'])).replace(/\s*\[.*$/, ''),
    quiet('sh', ['-c', 'nginx -v 2>&1']),
    `node ${process.version}`,
    first(quiet('ffmpeg', ['-version'])).replace(/ Copyright.*/, ''),
    first(quiet('perf', ['--version'])),
  ].filter(Boolean).join(', ');
  return { model, cores, memKb, mhz, debian, kernel, tools };
}

function commit() {
  const head = quiet('git', ['log', '-1', '--format=%H %cI %s']);
  if (!head) return { text: 'unknown (not a git checkout)', short: 'unknown' };
  const [hash, date, ...subject] = head.split(' ');
  const changed = (quiet('git', ['status', '--porcelain', '--untracked-files=no']) || '').split('\n').filter(Boolean);
  const dirty = changed.length ? `; the working tree had ${changed.length} changed tracked files (work in progress of others)` : '';
  return { text: `\`${hash.slice(0, 12)}\` (${date}, "${subject.join(' ')}")${dirty}`, short: hash.slice(0, 12) + (changed.length ? '+wip' : '') };
}

function binaryInfo(file) {
  if (!file || !existsSync(file)) return 'unknown';
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
  return `\`build/dvs\` of ${statSync(file).mtime.toISOString().replace(/\.\d+Z$/, 'Z')}, sha256 ${digest}… (a copy taken at the start of the run)`;
}

// The blocks of the previous report: sections and the analysis.
function previousBlocks() {
  const blocks = {};
  if (!existsSync(out)) return blocks;
  const text = readFileSync(out, 'utf8');
  for (const m of text.matchAll(/<!-- section:(\w+) -->\n([\s\S]*?)<!-- \/section:\1 -->/g)) blocks[m[1]] = m[2];
  const analysis = text.match(/<!-- analysis -->\n([\s\S]*?)<!-- \/analysis -->/);
  if (analysis) blocks.analysis = analysis[1];
  return blocks;
}

function newBlock(name, heading, runLine) {
  const md = path.join(fragments, `${name}.md`);
  if (!fragments || !existsSync(md)) return null;
  const meta = existsSync(path.join(fragments, `${name}.json`))
    ? JSON.parse(readFileSync(path.join(fragments, `${name}.json`), 'utf8')) : { targets: [] };
  return [
    `## ${heading}`,
    '',
    `<!-- targets: ${JSON.stringify(meta.targets || [])} -->`,
    `_${runLine}${meta.failed ? ' **This section failed.**' : ''}_`,
    '',
    readFileSync(md, 'utf8').trim(),
    '',
  ].join('\n');
}

function targetRows(blocks) {
  const rows = [];
  for (const [name, heading] of sections) {
    const block = blocks[name];
    const m = block && block.match(/<!-- targets: (.*) -->/);
    if (!m) continue;
    for (const t of JSON.parse(m[1])) {
      rows.push([heading.replace(/^\d+\.\s*/, '').replace(/:.*/, ''), t.what, t.measured, t.target, t.met ? '**met**' : '**not met**']);
    }
  }
  return rows;
}

const m = machine();
const c = commit();
const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const binary = option('binary');
const binaryHash = binary && existsSync(binary)
  ? `, binary sha256 ${createHash('sha256').update(readFileSync(binary)).digest('hex').slice(0, 16)}…` : '';
const runLine = `Run of ${now}, dvs ${c.short}${binaryHash}: \`${option('command', 'bench/run.sh')}\``;
const blocks = previousBlocks();
const ran = [];
for (const [name, heading] of sections) {
  const block = newBlock(name, heading, runLine);
  if (block) { blocks[name] = block; ran.push(name); }
}
const targets = targetRows(blocks);
const text = [
  '# dvs benchmark results',
  '',
  '<!-- Written by bench/run.sh (bench/lib/report.mjs). A run with --only rewrites only the sections it ran',
  '     and keeps the others; the block between the analysis markers is written by hand and kept. -->',
  '',
  'Every number below comes from one machine and is relative to it: the load generators (wrk, node) run on the',
  'same 2 cores as the servers, over loopback. Compare rows of one run with each other, not with other machines.',
  '',
  '## Machine and run',
  '',
  table(['', ''], [
    ['CPU', `${m.model}${m.mhz ? ` at ${Number(m.mhz).toFixed(0)} MHz` : ''}, ${m.cores} cores (from /proc/cpuinfo)`],
    ['RAM', `${(m.memKb / 2 ** 20).toFixed(1)} GiB (MemTotal)`],
    ['system', `Debian ${m.debian}, Linux ${m.kernel}`],
    ['tools', m.tools],
    ['dvs commit', c.text],
    ['binary', binaryInfo(option('binary'))],
    ['date', now],
    ['command', `\`${option('command', 'bench/run.sh')}\``],
    ['sections run', ran.join(', ') || 'none'],
    ['load average (1 min)', `${option('load-before', '?')} before, ${option('load-after', '?')} after`],
  ]),
  '',
  '## Targets',
  '',
  targets.length ? table(['section', 'what', 'measured', 'target', ''], targets) : 'No targets measured yet.',
  '',
  ...sections.flatMap(([name]) => (blocks[name] ? [`<!-- section:${name} -->`, blocks[name].trimEnd(), '', `<!-- /section:${name} -->`, ''] : [])),
  '<!-- analysis -->',
  (blocks.analysis || '## 7. What the profile shows, and what would close the gaps\n\nNot written yet.\n').trimEnd(),
  '',
  '<!-- /analysis -->',
  '',
].join('\n');
writeFileSync(out, text);
console.log(`wrote ${out} (${ran.length ? `new: ${ran.join(', ')}` : 'no new sections'})`);
