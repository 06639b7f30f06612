// A library written by the release before file indexes (SQLite schema 1,
// each record with its file list, files in content/<id>/) opens with this
// build: the records are migrated in place at start-up, every file is served
// as before, and a second start has nothing left to migrate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { authHeaders, makeTempDir, removeDir, startWeb } from './harness.mjs';

let dir;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// The files of one old video: a manifest, a segment and a poster.
function oldFiles(id) {
  return {
    'manifest.mpd': Buffer.from(`<?xml version="1.0"?><MPD><!-- ${id} --></MPD>\n`),
    'chunk-0-00001.m4s': Buffer.alloc(300000, id.length),
    'poster.jpg': Buffer.from(`jpeg of ${id}`),
  };
}

// Writes the database as the former release did (schema 1 had no
// user_version; its rows were id, uploaded_at_ms, json).
async function writeOldLibrary(ids) {
  const rows = [];
  for (const [n, id] of ids.entries()) {
    const folder = path.join(dir, 'data', 'content', id);
    await mkdir(folder, { recursive: true });
    const files = [];
    for (const [name, bytes] of Object.entries(oldFiles(id))) {
      await writeFile(path.join(folder, name), bytes);
      files.push({ name, size: bytes.length, sha256: sha256(bytes) });
    }
    const record = {
      id, title: `${id}.mp4`, uploaded_at_ms: 1700000000000 + n, state: 'ready', playable: true,
      progress: 1, error: '', duration_s: 4, width: 320, height: 180,
      renditions: [{ width: 320, height: 180, bandwidth: 300000 }], files,
    };
    rows.push([id, record.uploaded_at_ms, JSON.stringify(record)]);
  }
  const script = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
  PRAGMA journal_mode=WAL;
  CREATE TABLE videos (id TEXT PRIMARY KEY NOT NULL, uploaded_at_ms INTEGER NOT NULL, json TEXT NOT NULL);
  CREATE INDEX videos_newest_first ON videos (uploaded_at_ms DESC, id);
  CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
""")
db.executemany("INSERT INTO videos VALUES (?, ?, ?)", json.loads(sys.argv[2]))
db.commit()
`;
  execFileSync('python3', ['-c', script, path.join(dir, 'data', 'metadata.db'), JSON.stringify(rows)]);
}

async function expectServedAsBefore(web, ids) {
  const list = await (await fetch(`${web.url}/api/videos`)).json();
  assert.deepEqual(list.videos.map((v) => v.id), [...ids].reverse());  // newest first
  for (const id of ids) {
    const video = await (await fetch(`${web.url}/api/videos/${id}`)).json();
    assert.equal(video.state, 'ready');
    assert.equal(video.urls.poster, `/content/${id}/poster.jpg`);
    const expected = oldFiles(id);
    assert.deepEqual(video.files.map((f) => f.name).sort(), Object.keys(expected).sort());
    for (const [name, bytes] of Object.entries(expected)) {
      const response = await fetch(`${web.url}/content/${id}/${name}`);
      assert.equal(response.status, 200, `${id}/${name}`);
      assert.equal(response.headers.get('etag'), `"${sha256(bytes)}"`);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), `${id}/${name}`);
    }
  }
}

before(async () => {
  dir = await makeTempDir();
});

after(async () => {
  await removeDir(dir);
});

test('a SQLite library of the former format is migrated at start-up and served as before', async () => {
  const ids = ['first-video', 'second-video', 'third-video'];
  await writeOldLibrary(ids);
  let web = await startWeb(dir);
  try {
    assert.match(web.log(), /migrated 3 video records/);
    await expectServedAsBefore(web, ids);
  } finally {
    assert.equal(await web.stop(), 0, web.log());
  }
  web = await startWeb(dir);
  try {
    assert.doesNotMatch(web.log(), /migrated \d+ video records/);
    await expectServedAsBefore(web, ids);
    // The migrated library is an ordinary one: a video can be deleted.
    assert.equal((await fetch(`${web.url}/api/videos/first-video`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 204);
    assert.equal((await fetch(`${web.url}/content/first-video/manifest.mpd`)).status, 404);
  } finally {
    assert.equal(await web.stop(), 0, web.log());
  }
});
