#!/usr/bin/env node
// Puts bench/library.mjs's section into bench/RESULTS.md, between
// `<!-- section:library -->` markers after the other sections (report.mjs
// knows only its own sections and rewrites the file without this one). With
// no new fragment, the section of --previous (the report before report.mjs
// rewrote it) is put back, so a run without `library` keeps it.
//
//   node bench/lib/library_report.mjs --out bench/RESULTS.md [--fragments DIR] [--previous FILE]
//       [--command "bench/run.sh ..."] [--binary PATH]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const out = option('out', 'bench/RESULTS.md');
const fragments = option('fragments');
const previous = option('previous');
const heading = '## 8. Library size: start-up, memory and listing on SQLite and etcd';
const markers = /<!-- section:library -->\n[\s\S]*?<!-- \/section:library -->\n?/;

function commitShort() {
  try {
    const hash = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim().slice(0, 12);
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return hash + (dirty ? '+wip' : '');
  } catch {
    return 'unknown';
  }
}

function newBlock() {
  const md = fragments && path.join(fragments, 'library.md');
  if (!md || !existsSync(md)) return null;
  const json = path.join(fragments, 'library.json');
  const meta = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : { targets: [], failed: true };
  const binary = option('binary');
  const binaryHash = binary && existsSync(binary)
    ? `, binary sha256 ${createHash('sha256').update(readFileSync(binary)).digest('hex').slice(0, 16)}…` : '';
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return [
    '<!-- section:library -->',
    heading,
    '',
    `<!-- targets: ${JSON.stringify(meta.targets || [])} -->`,
    `_Run of ${now}, dvs ${commitShort()}${binaryHash}: \`${option('command', 'node bench/library.mjs')}\`` +
      `${meta.failed ? ' **This section failed.**' : ''}_`,
    '',
    readFileSync(md, 'utf8').trim(),
    '',
    '<!-- /section:library -->',
    '',
  ].join('\n');
}

function oldBlock() {
  if (!previous || !existsSync(previous)) return null;
  const m = readFileSync(previous, 'utf8').match(markers);
  return m ? m[0].replace(/\n?$/, '\n') : null;
}

const block = newBlock() || oldBlock();
if (block) {
  const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const next = markers.test(text) ? text.replace(markers, () => block) : `${text.replace(/\n*$/, '\n\n')}${block}`;
  writeFileSync(out, next);
  console.log(`${out}: library section ${newBlock() ? 'written' : 'kept'}`);
}
