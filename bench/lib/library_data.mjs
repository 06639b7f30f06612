// Synthesized video libraries for bench/library.mjs: records in dvs's current
// form (a small record that names its file index), written straight into a
// SQLite database file (python3's sqlite3, one transaction) or into etcd
// (its JSON gRPC gateway, batched txns). The file indexes the records name
// are not written: listing and start-up never read them.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ladders = {
  '1080p': [[1920, 1080, 5000000], [1280, 720, 2800000], [854, 480, 1400000], [640, 360, 800000], [426, 240, 400000]],
  '720p': [[1280, 720, 2800000], [854, 480, 1400000], [640, 360, 800000], [426, 240, 400000]],
};
export const renditionsOf = (ladder) => ladders[ladder].map(([width, height, bandwidth]) => ({ width, height, bandwidth }));

const hex = (text, length = 64) => createHash('sha256').update(text).digest('hex').slice(0, length);

// Deterministic numbers in [0, 1) for record `i` (mulberry32).
function randomFor(i) {
  let state = (i * 0x9e3779b1) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// JSON with object keys sorted, as dvs (nlohmann::json) writes records.
export function sortedJson(value) {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const words = ['holiday', 'street market', 'evening', 'rehearsal', 'Ålesund harbour', 'café', 'lecture 3',
  'drone footage', 'birthday', '東京 night walk', 'product demo', 'interview (raw)', 'match highlights'];

// Files of a finished video of `seconds` with `streams` video renditions:
// 4 s segments per video rendition and audio, an init per stream,
// HLS playlists, manifest, master playlist and poster.
const fileCountOf = (seconds, streams) => (streams + 1) * (Math.ceil(seconds / 4) + 2) + 3;

// Record `i` (1-based) of a synthesized library: ready, public, one upload a
// minute (every tenth at the same millisecond as the one before, so that ties
// are broken by id), a third with the 1080p ladder.
export function synthesizeRecord(i) {
  const random = randomFor(i);
  const id = `v${String(i).padStart(6, '0')}`;
  const ladder = i % 3 === 0 ? '1080p' : '720p';
  const renditions = renditionsOf(ladder);
  const duration = Math.round((10 + random() * 3600) * 1000) / 1000;
  const uploaded = 1700000000000 + (i - (i % 10 === 0 ? 1 : 0)) * 60000;
  const digest = hex(`index ${id}`);
  const title = `${words[Math.floor(random() * words.length)]} ${words[Math.floor(random() * words.length)]} ${i}.mp4`;
  return {
    id, title, owner: '', visibility: 'public', uploaded_at_ms: uploaded,
    updated_at_ms: uploaded + Math.round(duration * 400), state: 'ready', playable: true, error: '',
    duration_s: duration, width: renditions[0].width, height: renditions[0].height,
    size_bytes: Math.round(duration * (renditions[0].bandwidth / 8) * 1.2), renditions, poster: 'poster.jpg',
    hls: true, generation: hex(`generation ${id}`, 16),
    index: { name: `index-${digest}.json`, sha256: digest, file_count: fileCountOf(duration, renditions.length) },
  };
}

// The library of `count` records: [{id, uploaded, json}], in id order.
export function synthesizeLibrary(count) {
  const records = [];
  for (let i = 1; i <= count; i++) {
    const record = synthesizeRecord(i);
    records.push({ id: record.id, uploaded: record.uploaded_at_ms, json: sortedJson(record) });
  }
  return records;
}

// Ids in the order dvs lists them: newest first, then by id.
export function listOrder(records) {
  return [...records].sort((a, b) => b.uploaded - a.uploaded || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => r.id);
}

// dvs's SQLite schema, version 2 (src/metadata/sqlite/sqlite_metadata_service.cc).
const sqliteLoader = String.raw`
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.executescript("""
CREATE TABLE IF NOT EXISTS videos (
  id TEXT PRIMARY KEY NOT NULL,
  uploaded_at_ms INTEGER NOT NULL,
  json TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  legacy INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
""")
def rows():
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            id, uploaded, json = line.rstrip("\n").split("\t", 2)
            yield id, int(uploaded), json
with db:
    db.executemany("INSERT INTO videos (id, uploaded_at_ms, json) VALUES (?, ?, ?)", rows())
db.execute("CREATE INDEX IF NOT EXISTS videos_newest_first ON videos (uploaded_at_ms DESC, id)")
db.execute("PRAGMA user_version = 2")
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(db.execute("SELECT count(*) FROM videos").fetchone()[0])
db.close()
`;

// Writes `records` into a new SQLite database at `dbPath`; resolves with the
// command that did it, for the report.
export async function writeSqlite(dbPath, records, scratch) {
  await writeFile(scratch, records.map((r) => `${r.id}\t${r.uploaded}\t${r.json}\n`).join(''));
  const { stdout } = await run('python3', ['-c', sqliteLoader, dbPath, scratch], { maxBuffer: 1 << 20 });
  if (Number(stdout.trim()) !== records.length) throw new Error(`sqlite: ${stdout.trim()} rows, not ${records.length}`);
  return `python3 -c <loader: CREATE TABLE videos/kv; executemany INSERT in one transaction; CREATE INDEX; user_version 2> ${dbPath} ROWS.tsv`;
}

// The stored JSON of `id` and the largest stored record of the database.
export async function sqliteRecordSizes(dbPath, id) {
  const script = `import sqlite3, sys, json
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
one = db.execute("SELECT length(CAST(json AS BLOB)) FROM videos WHERE id = ?", (sys.argv[2],)).fetchone()
big = db.execute("SELECT id, length(CAST(json AS BLOB)) AS n FROM videos ORDER BY n DESC LIMIT 1").fetchone()
print(json.dumps({"record": one[0] if one else None, "largest_id": big[0], "largest": big[1]}))`;
  const { stdout } = await run('python3', ['-c', script, dbPath, id]);
  return JSON.parse(stdout);
}

export async function sqliteStoredJson(dbPath, id) {
  const script = `import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
sys.stdout.write(db.execute("SELECT json FROM videos WHERE id = ?", (sys.argv[2],)).fetchone()[0])`;
  return (await run('python3', ['-c', script, dbPath, id], { maxBuffer: 1 << 24 })).stdout;
}

const b64 = (text) => Buffer.from(text).toString('base64');

// Byte after the prefix, for a range over every key that starts with it.
function prefixEnd(prefix) {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1] += 1;
  return bytes.toString('base64');
}

async function gatewayPost(endpoint, route, body, attempts = 5) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`http://${endpoint}${route}`, {
        method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(30000),
      });
      const text = await response.text();
      if (response.ok) return JSON.parse(text);
      if (attempt >= attempts) throw new Error(`${route}: ${response.status} ${text.slice(0, 300)}`);
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}

// Puts every record under `${prefix}videos/` with txns of `perTxn` puts,
// `inFlight` at a time, spread over the members.
export async function loadEtcd(endpoints, prefix, records, { perTxn = 100, inFlight = 8 } = {}) {
  let next = 0;
  let sent = 0;
  const worker = async (w) => {
    while (next < records.length) {
      const batch = records.slice(next, next + perTxn);
      next += perTxn;
      const success = batch.map((r) => ({ request_put: { key: b64(`${prefix}videos/${r.id}`), value: b64(r.json) } }));
      await gatewayPost(endpoints[(w + sent++) % endpoints.length], '/v3/kv/txn', { success });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return `POST http://MEMBER/v3/kv/txn {"success":[{"request_put":{"key":b64("${prefix}videos/ID"),"value":b64(JSON)}} ×${perTxn}]}, ${inFlight} in flight over the ${endpoints.length} members`;
}

// Every record under the prefix, a page at a time: how many, the largest
// (bytes of the value as stored) and the size of `id`'s.
export async function scanEtcd(endpoint, prefix, id) {
  const rangeEnd = prefixEnd(`${prefix}videos/`);
  let key = b64(`${prefix}videos/`);
  let count = 0;
  let largest = { id: null, bytes: 0 };
  let record = null;
  for (;;) {
    const answer = await gatewayPost(endpoint, '/v3/kv/range', { key, range_end: rangeEnd, limit: 2000 });
    const kvs = answer.kvs || [];
    for (const kv of kvs) {
      const name = Buffer.from(kv.key, 'base64').toString().slice(`${prefix}videos/`.length);
      const bytes = Buffer.from(kv.value || '', 'base64').length;
      count++;
      if (bytes > largest.bytes) largest = { id: name, bytes };
      if (name === id) record = bytes;
    }
    if (!answer.more || kvs.length === 0) break;
    key = Buffer.concat([Buffer.from(kvs[kvs.length - 1].key, 'base64'), Buffer.from([0])]).toString('base64');
  }
  return { count, largest, record };
}

export async function etcdStoredJson(endpoint, prefix, id) {
  const answer = await gatewayPost(endpoint, '/v3/kv/range', { key: b64(`${prefix}videos/${id}`) });
  if (!answer.kvs || answer.kvs.length === 0) throw new Error(`etcd has no ${prefix}videos/${id}`);
  return Buffer.from(answer.kvs[0].value, 'base64').toString();
}

// The member's database size in bytes (etcd's own figure).
export async function etcdDbSize(endpoint) {
  const status = await gatewayPost(endpoint, '/v3/maintenance/status', {});
  return Number(status.dbSize || 0);
}
