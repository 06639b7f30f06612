// Hostile input against a real `dvs web` and a real `dvs storage`: path
// traversal in every position and encoding, unicode tricks in names, HTML in
// titles, broken multipart and HTTP framing, bad ranges, slow and greedy
// clients, payloads that are not videos, and bad gRPC puts. Every case must
// get a clear 4xx (or the right gRPC code) with a reason, the servers must
// keep answering, and nothing may be stored.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { authHeaders, authLine, dvsBinary, makeClip, makeTempDir, rawGet, rawRequest, removeDir, startStorage, startWeb, upload } from './harness.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// The read timeout and the connection limit are http::ServerOptions'
// defaults unless `dvs web` has flags for them, which the test then sets low.
const webHelp = execFileSync(dvsBinary, ['web', '--help'], { encoding: 'utf8' });
const hasReadTimeoutFlag = /--read-timeout\b/.test(webHelp);
const hasConnectionLimitFlag = /--max-connections\b/.test(webHelp);
const readTimeoutMs = hasReadTimeoutFlag ? 2000 : 30000;
const connectionLimit = hasConnectionLimitFlag ? 64 : 4096;
const uploadLimit = 20_000_000;

const secret = 'TOP-SECRET-c0ffee';
let dir;
let web;
let storage;
let storageClient;
let clip;
let sample;  // the one video that must survive every case
let topLevelBefore;

const contentDir = () => path.join(dir, 'data', 'content');
const uploadsDir = () => path.join(dir, 'data', 'work', 'uploads');

before(async () => {
  dir = await makeTempDir('dvs-hostile-');
  clip = await readFile(await makeClip(path.join(dir, 'tiny.mp4'), { width: 128, height: 72, seconds: 1, audio: false }));
  const args = ['--upload-limit', String(uploadLimit)];
  if (hasReadTimeoutFlag) args.push('--read-timeout', String(readTimeoutMs / 1000));
  if (hasConnectionLimitFlag) args.push('--max-connections', String(connectionLimit));
  web = await startWeb(dir, args);
  await writeFile(path.join(dir, 'data', 'secret.txt'), secret);
  const response = await upload(web.url, 'sample.mp4', clip, { query: '?wait=1' });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  sample = JSON.parse(text);
  assert.equal(sample.state, 'ready');

  const storageDir = path.join(dir, 'storage');
  await mkdir(storageDir);
  topLevelBefore = (await readdir(dir)).sort();
  storage = await startStorage(storageDir);
  const definition = protoLoader.loadSync(new URL('../../proto/storage.proto', import.meta.url).pathname,
    { keepCase: true, longs: String, defaults: true, oneofs: true });
  const { Storage } = grpc.loadPackageDefinition(definition).dvs.storage.v1;
  storageClient = new Storage(storage.address, grpc.credentials.createInsecure(),
    { 'grpc.max_send_message_length': 16 << 20 });
  const stored = await put([header('base/blob.bin', baseBlob), { chunk: baseBlob }]);
  assert.ifError(stored.error);
});

after(async () => {
  storageClient?.close();
  if (storage) assert.equal(await storage.stop(), 0, `dvs storage did not stop cleanly:\n${storage.log()}`);
  if (web) assert.equal(await web.stop(), 0, `dvs web did not stop cleanly:\n${web.log()}`);
  await removeDir(dir);
});

// ---------------------------------------------------------------- helpers

async function eventually(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// The server still answers, and holds exactly the sample video: no record,
// no content folder, no spooled upload and no stray file was left behind.
async function assertNothingStored() {
  assert.ok(web.alive(), `dvs web died:\n${web.log()}`);
  await eventually(async () => assert.equal((await fetch(`${web.url}/healthz`)).status, 200));
  const { videos } = await (await fetch(`${web.url}/api/videos`)).json();
  assert.deepEqual(videos.map((v) => v.id), ['sample']);
  assert.deepEqual(await readdir(contentDir()), ['sample']);
  await eventually(async () => assert.deepEqual(await readdir(uploadsDir()), []));
  assert.deepEqual((await readdir(dir)).sort(), topLevelBefore);
}

// The reason an error response gives: JSON {"error"} or the error page's
// text. `text` is a body, or raw responses of which the first is read.
function reasonOf(text) {
  let body = text;
  if (text.startsWith('HTTP/')) {
    const end = text.indexOf('\r\n\r\n');
    const length = Number(text.slice(0, end).match(/\r\ncontent-length: *(\d+)/i)?.[1] ?? text.length);
    body = text.slice(end + 4, end + 4 + length);
  }
  try { return JSON.parse(body).error; } catch { /* a page */ }
  const paragraph = body.match(/<p>([^<]*)<\/p>/);
  return paragraph ? paragraph[1] : body;
}

function assertError(status, text, expectedStatus, reason) {
  assert.equal(status, expectedStatus, `status ${status}: ${text.slice(0, 500)}`);
  assert.match(reasonOf(text), reason);
  assert.ok(!text.includes(secret), 'no file content leaks');
}

// Sends raw bytes; `halfClose` ends our side after them. Resolves with the
// status, the text and when the server closed (ms after the send).
function exchange(bytes, { halfClose = false, timeoutMs = 10000 } = {}) {
  const { port } = new URL(web.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('close', () => resolve({ status: Number(data.split(' ')[1]), text: data, closedAfterMs: Date.now() - started }));
    socket.on('error', () => {});
    socket.setTimeout(timeoutMs, () => { socket.destroy(); reject(new Error(`no answer: ${data}`)); });
  });
}

const latin1 = (text) => Buffer.from(text, 'latin1');
const utf8AsLatin1 = (text) => Buffer.from(text, 'utf8').toString('latin1');

// A multipart/form-data body with one part per entry; header lines are
// latin1 strings so that any byte can go in a file name.
function multipart(parts, boundary = 'hostile-boundary') {
  const pieces = [];
  for (const { headers, body } of parts) {
    pieces.push(latin1(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`), Buffer.from(body), latin1('\r\n'));
  }
  pieces.push(latin1(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

// '"' is sent escaped as \" (which the parser accepts); every other byte as it is.
const filePart = (filenameLatin1, body) => ({
  headers: [`Content-Disposition: form-data; name="file"; filename="${filenameLatin1.replaceAll('"', '\\"')}"`, 'Content-Type: video/mp4'],
  body,
});

async function postUpload(body, { contentType = 'multipart/form-data; boundary=hostile-boundary', json = true, query = '' } = {}) {
  const headers = { ...authHeaders(web.url) };
  if (contentType !== null) headers['Content-Type'] = contentType;
  if (json) headers.Accept = 'application/json';
  const response = await fetch(`${web.url}/upload${query}`, { method: 'POST', body, headers, redirect: 'manual' });
  return { status: response.status, text: await response.text(), location: response.headers.get('location') };
}

const notAVideo = Buffer.from('this is plain text, not a video\n'.repeat(40));

// Uploads the clip under a hostile name that is still acceptable, checks
// what the pages show, and deletes it again.
async function withUploadedClip(filenameLatin1, check) {
  const response = await postUpload(multipart([filePart(filenameLatin1, clip)]), { query: '?wait=1' });
  assert.equal(response.status, 200, response.text);
  const video = JSON.parse(response.text);
  try {
    assert.match(video.id, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
    assert.deepEqual((await readdir(contentDir())).sort(), ['sample', video.id].sort());
    await check(video);
  } finally {
    assert.equal((await fetch(`${web.url}/api/videos/${video.id}`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 204);
  }
}

const baseBlob = Buffer.from('the one blob that must survive every case\n');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const header = (key, bytes, overrides = {}) => ({ header: { key, size: String(bytes.length), sha256: sha256(bytes), ...overrides } });

function put(messages) {
  return new Promise((resolve) => {
    const call = storageClient.Put((error, response) => resolve({ error, response }));
    call.on('error', () => {});
    for (const message of messages) call.write(message);
    call.end();
  });
}

function unary(method, request) {
  return new Promise((resolve) => storageClient[method](request, (error, response) => resolve({ error, response })));
}

function streamed(method, request) {
  return new Promise((resolve) => {
    const messages = [];
    const call = storageClient[method](request);
    call.on('data', (message) => messages.push(message));
    call.on('error', (error) => resolve({ error, messages }));
    call.on('end', () => resolve({ error: null, messages }));
  });
}

function assertGrpcError(result, code, reason) {
  assert.ok(result.error, `expected ${code}, got success ${JSON.stringify(result.response ?? result.messages)}`);
  assert.equal(result.error.code, grpc.status[code], `${result.error.code}: ${result.error.details}`);
  assert.match(result.error.details, reason);
}

// ------------------------------------------------------- path traversal

describe('path traversal in URLs', () => {
  afterEach(assertNothingStored);
  const cases = [
    ['dot-dot as the video id, percent-encoded', '/content/%2e%2e/secret.txt', 400, /video id must start with a letter or digit/],
    ['dot-dot-slash as the file name, percent-encoded', '/content/sample/%2e%2e%2f%2e%2e%2fmetadata.db', 400, /file name must start with a letter or digit/],
    ['encoded slashes after literal dots', '/content/sample/..%2F..%2Fsecret.txt', 400, /file name must start/],
    ['traversal inside a valid-looking name', '/content/sample/manifest.mpd%2f..%2f..%2fsecret.txt', 400, /file name may contain only/],
    ['double percent-encoding', '/content/sample/%252e%252e%252fsecret.txt', 400, /file name must start/],
    ['encoded backslashes', '/content/sample/..%5c..%5csecret.txt', 400, /file name must start/],
    ['raw backslashes', '/content/sample/..\\..\\secret.txt', 400, /file name must start/],
    ['overlong UTF-8 dots and slash', '/content/sample/%c0%ae%c0%ae%c0%afsecret.txt', 400, /file name must start/],
    ['a NUL byte before an innocent extension', '/content/sample/manifest.mpd%00.jpg', 400, /file name may contain only/],
    ['fullwidth dots and slash', '/content/%EF%BC%8E%EF%BC%8E%EF%BC%8Fdata/secret.txt', 400, /video id must start/],
    ['a right-to-left override in the file name', '/content/sample/%E2%80%AEgpj.dpm', 400, /file name must start/],
    ['a hidden file', '/content/sample/.secret.txt', 400, /file name must start/],
    ['raw dot segments (no route has that shape)', '/content/../data/secret.txt', 404, /not found/],
    ['raw dot segments one level deeper', '/content/sample/../../secret.txt', 404, /not found/],
    ['dot-dot in the video page id', '/videos/..%2Fsecret.txt', 400, /video id must start/],
    ['dot-dot in the API id', '/api/videos/..%2F..%2Fetc%2Fpasswd', 400, /video id must start/],
    ['dot-dot in a static file name', '/static/..%2F..%2Fdata%2Fsecret.txt', 404, /no such file/],
    ['an absolute-form target', 'http://127.0.0.1/../../data/secret.txt', 404, /not found/],
    ['a 300-character video id', `/videos/${'a'.repeat(300)}`, 400, /longer than 128 characters/],
  ];
  for (const [name, target, status, reason] of cases) {
    test(`GET ${name}: ${status}`, async () => {
      const { status: got, text } = await rawGet(web.url, target);
      assertError(got, text, status, reason);
    });
  }

  // Raw: fetch() would resolve "%2e%2e" as "..", as URLs do.
  test('DELETE of a dot-dot id: 400, and the sample video stays', async () => {
    const { status, text } = await rawRequest(web.url, `DELETE /api/videos/%2e%2e HTTP/1.1\r\nHost: localhost\r\n${authLine(web.url)}Connection: close\r\n\r\n`);
    assertError(status, text, 400, /video id must start/);
    assert.equal((await fetch(`${web.url}/api/videos/sample`)).status, 200);
  });
});

// ------------------------------------------------------------ file names

describe('uploaded file names', () => {
  afterEach(assertNothingStored);

  const rejected = [
    ['a NUL byte', 'clip\0.mp4', /control character/],
    ['a newline (CR LF injection into the part header)', 'clip\r\nX-Injected: 1\r\n.mp4', /malformed part header|unterminated quoted string/],
    ['an escape sequence for terminals', 'clip\x1b[31m.mp4', /control character/],
    ['a right-to-left override ("clip\u202Egpj.mp4" shows as "clipmp4.jpg")', utf8AsLatin1('clip\u202Egpj.mp4'), /bidirectional override/],
    ['a left-to-right isolate', utf8AsLatin1('a\u2066b.mp4'), /bidirectional override/],
    ['bytes that are not UTF-8', 'clip\xff\xfe.mp4', /not valid UTF-8/],
    ['overlong UTF-8 dots and slashes', '\xc0\xae\xc0\xae\xc0\xafevil.mp4', /not valid UTF-8/],
    ['an encoded surrogate', '\xed\xa0\x80.mp4', /not valid UTF-8/],
    ['2000 bytes', `${'n'.repeat(1996)}.mp4`, /longer than 1024 bytes/],
    ['nothing at all', '', /carries no file name/],
    ['only dots and slashes', '../../..', /cannot make a video id/],
    ['only Japanese letters (no id can be made)', utf8AsLatin1('日本語.mp4'), /letters or digits/],
  ];
  for (const [name, filename, reason] of rejected) {
    test(`a file name with ${name}: 400`, async () => {
      const { status, text } = await postUpload(multipart([filePart(filename, clip)]));
      assertError(status, text, 400, reason);
    });
  }

  test('fullwidth dots and slashes make an ordinary id, and a non-video still gets 422', async () => {
    const { status, text } = await postUpload(multipart([filePart(utf8AsLatin1('．．／．．／evil.mp4'), notAVideo)]));
    assertError(status, text, 422, /not a video file/);
  });

  test('a name with HTML and no letters gets 400 whose page shows it escaped', async () => {
    const { status, text } = await postUpload(multipart([filePart('<>&.mp4', clip)]), { json: false });
    assert.equal(status, 400);
    assert.match(text, /cannot make a video id from the file name \\?&quot;&lt;&gt;&amp;\.mp4\\?&quot;/);
    assert.ok(!text.includes('<>&'), 'nothing unescaped');
  });

  test('a path in the name is cut to its base name; nothing is written outside the content folder', async () => {
    await withUploadedClip('../../../../../tmp/evil.mp4', async (video) => {
      assert.equal(video.id, 'evil');
      assert.equal(video.title, '../../../../../tmp/evil.mp4');
      assert.ok(!existsSync('/tmp/evil.mp4'));
    });
  });

  test('HTML and script in the name are shown escaped on the index and the video page', async () => {
    const title = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'.mp4';
    await withUploadedClip(title, async (video) => {
      assert.equal(video.title, title);
      const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;.mp4';
      for (const page of [`${web.url}/`, `${web.url}/videos/${video.id}`]) {
        const html = await (await fetch(page)).text();
        assert.ok(html.includes(escaped), `${page} shows the title escaped`);
        assert.ok(!html.includes('<script>alert') && !html.includes('<img src=x'), `${page} has no live markup`);
      }
      assert.match(await (await fetch(`${web.url}/videos/${video.id}`)).text(), /<title>&lt;script&gt;/);
    });
  });

  test('NFC and NFD spellings of one name both make safe ids and keep their titles byte for byte', async () => {
    for (const form of ['NFC', 'NFD']) {
      const title = 'café.mp4'.normalize(form);
      await withUploadedClip(utf8AsLatin1(title), async (video) => {
        assert.equal(video.title, title);
        assert.ok((await (await fetch(`${web.url}/`)).text()).includes(`dir="auto">${title}</span>`));
      });
    }
  });

  test('a 300-character name is accepted with its id cut to 128 characters', async () => {
    await withUploadedClip(`${'a'.repeat(300)}.mp4`, async (video) => {
      assert.equal(video.id, 'a'.repeat(128));
      assert.equal(video.title.length, 304);
    });
  });
});

// -------------------------------------------------------------- multipart

describe('malformed multipart bodies', () => {
  afterEach(assertNothingStored);
  const whole = () => multipart([filePart('clip.mp4', clip)]);
  const cases = [
    ['no boundary parameter', () => whole(), 'multipart/form-data', /without a boundary/],
    ['an empty boundary', () => whole(), 'multipart/form-data; boundary=""', /invalid multipart boundary/],
    ['a 71-character boundary', () => whole(), `multipart/form-data; boundary=${'b'.repeat(71)}`, /invalid multipart boundary/],
    ['a boundary with a control character', () => whole(), 'multipart/form-data; boundary="a\tb"', /invalid multipart boundary/],
    ['another content type', () => whole(), 'text/plain', /not a multipart\/form-data body/],
    ['no Content-Type at all', () => whole(), null, /must be multipart\/form-data/],
    ['a body cut before its closing boundary', () => whole().subarray(0, 2000), undefined, /ends before its closing boundary/],
    ['a body that never has the boundary', () => notAVideo, undefined, /ends before its closing boundary/],
    ['an empty body', () => Buffer.alloc(0), undefined, /ends before its closing boundary/],
    ['a part without Content-Disposition', () => multipart([{ headers: ['Content-Type: video/mp4'], body: clip }]), undefined, /without Content-Disposition/],
    ['a part header without a colon', () => multipart([{ headers: ['Content-Disposition form-data'], body: clip }]), undefined, /malformed part header line/],
    ['part headers over 16 KiB', () => multipart([{ headers: ['Content-Disposition: form-data; name="file"; filename="a.mp4"', `X-Pad: ${'p'.repeat(17000)}`], body: clip }]), undefined, /part headers are too large/],
    ['an unterminated quoted file name', () => multipart([{ headers: ['Content-Disposition: form-data; name="file"; filename="clip.mp4'], body: clip }]), undefined, /unterminated quoted string/],
    ['a disposition that is not form-data', () => multipart([{ headers: ['Content-Disposition: attachment; filename="clip.mp4"'], body: clip }]), undefined, /expected form-data/],
    ['garbage after a boundary', () => Buffer.concat([latin1('--hostile-boundary garbage\r\n'), whole()]), undefined, /malformed multipart boundary line/],
    ['no "file" field', () => multipart([{ headers: ['Content-Disposition: form-data; name="title"'], body: 'no file here' }]), undefined, /no "file" field/],
  ];
  for (const [name, body, contentType, reason] of cases) {
    test(`${name}: 400`, async () => {
      const options = contentType === undefined ? {} : { contentType };
      const { status, text } = await postUpload(body(), options);
      assertError(status, text, 400, reason);
    });
  }
});

// --------------------------------------------------------- HTTP framing

describe('HTTP framing', () => {
  afterEach(assertNothingStored);
  const uploadHead = (extra) => `POST /upload HTTP/1.1\r\nHost: localhost\r\n${authLine(web.url)}Accept: application/json\r\nContent-Type: multipart/form-data; boundary=hostile-boundary\r\n${extra}\r\n`;
  const body = () => multipart([filePart('lying.mp4', clip)]);

  test('a 20 KiB header field: 431', async () => {
    const { status, text } = await exchange(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'h'.repeat(20 << 10)}\r\n\r\n`);
    assertError(status, text, 431, /header fields too large/);
  });

  test('2000 small header fields: 431', async () => {
    const fields = Array.from({ length: 2000 }, (_, i) => `X-F${i}: v`).join('\r\n');
    const { status, text } = await exchange(`GET /healthz HTTP/1.1\r\nHost: localhost\r\n${fields}\r\n\r\n`);
    assertError(status, text, 431, /header fields too large/);
  });

  test('a 20 KiB request target: 431', async () => {
    const { status, text } = await exchange(`GET /videos/${'a'.repeat(20 << 10)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    assertError(status, text, 431, /header fields too large/);
  });

  test('a Content-Length shorter than the body: 400, and the rest is not taken for a request', async () => {
    const bytes = body();
    const { status, text } = await exchange(Buffer.concat([latin1(uploadHead(`Content-Length: ${bytes.length - 100}\r\n`)), bytes]));
    assertError(status, text, 400, /ends before its closing boundary/);
  });

  test('a Content-Length longer than the body, then the client stops sending: 400', async () => {
    const bytes = body();
    const { status, text } = await exchange(Buffer.concat([latin1(uploadHead(`Content-Length: ${bytes.length + 1000}\r\n`)), bytes]),
      { halfClose: true });
    assertError(status, text, 400, /body ended before its declared length/);
  });

  test('a request that stops inside its header: 400', async () => {
    const { status, text } = await exchange('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Cut: ', { halfClose: true });
    assertError(status, text, 400, /ended inside its header/);
  });

  test('two different Content-Lengths: 400', async () => {
    const { status, text } = await exchange(`${uploadHead('Content-Length: 5\r\nContent-Length: 6\r\n')}abcdef`);
    assertError(status, text, 400, /malformed request: multiple Content-Length/);
  });

  test('Content-Length together with chunked encoding (request smuggling): 400', async () => {
    const { status, text } = await exchange(`${uploadHead('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n')}0\r\n\r\n`);
    assertError(status, text, 400, /malformed request: bad Transfer-Encoding/);
  });

  test('a chunk size that is not hex: 400', async () => {
    const { status, text } = await exchange(`${uploadHead('Transfer-Encoding: chunked\r\n')}zz\r\nabc\r\n0\r\n\r\n`);
    assertError(status, text, 400, /malformed request: bad chunk/);
  });

  test('a NUL byte in a header value: 400', async () => {
    const { status, text } = await exchange('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\0b\r\n\r\n');
    assertError(status, text, 400, /malformed request/);
  });

  test('bare LF line endings: 400', async () => {
    const { status, text } = await exchange('GET /healthz HTTP/1.1\nHost: localhost\n\n');
    assertError(status, text, 400, /malformed request/);
  });

  test('a Content-Length over the upload limit: 413 before any body is read', async () => {
    const { status, text } = await exchange(uploadHead(`Content-Length: ${uploadLimit + 1}\r\n`));
    assertError(status, text, 413, /upload too large/);
  });

  test('a chunked upload that grows past the upload limit: 413', async () => {
    const head = latin1(uploadHead('Transfer-Encoding: chunked\r\n'));
    const chunk = Buffer.concat([latin1(`${(1 << 20).toString(16)}\r\n`), Buffer.alloc(1 << 20, 0x61), latin1('\r\n')]);
    const chunks = Array.from({ length: Math.ceil(uploadLimit / (1 << 20)) + 2 }, () => chunk);
    const { status, text } = await exchange(Buffer.concat([head, ...chunks]), { timeoutMs: 30000 });
    assertError(status, text, 413, /too large/);
  });
});

// ----------------------------------------------------------------- ranges

describe('Range requests', () => {
  afterEach(assertNothingStored);
  let url;
  let whole;
  before(async () => {
    const file = sample.files.reduce((a, b) => (a.size >= b.size ? a : b));
    url = `${web.url}/content/sample/${file.name}`;
    whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(whole.length, file.size);
  });

  const ranged = async (range) => {
    const response = await fetch(url, { headers: { Range: range, Accept: 'application/json' } });
    return { response, bytes: Buffer.from(await response.arrayBuffer()) };
  };
  const notSatisfiable = [
    ['not numbers', () => 'bytes=abc', /malformed byte range/],
    ['a last position before the first', () => 'bytes=5-2', /malformed byte range/],
    ['no range after "bytes="', () => 'bytes=', /malformed byte range/],
    ['a negative first position', () => 'bytes=-5-10', /malformed byte range/],
    ['an empty suffix', () => 'bytes=-0', /not satisfiable/],
    ['a first position at the end', () => `bytes=${whole.length}-`, /not satisfiable/],
    ['a first position past 2^64', () => 'bytes=99999999999999999999999-', /not satisfiable/],
    ['101 ranges', () => `bytes=${Array.from({ length: 101 }, (_, i) => `${i}-${i}`).join(',')}`, /more than 100 byte ranges/],
  ];
  for (const [name, range, reason] of notSatisfiable) {
    test(`${name}: 416 with Content-Range bytes */size`, async () => {
      const { response, bytes } = await ranged(range());
      assertError(response.status, bytes.toString(), 416, reason);
      assert.equal(response.headers.get('content-range'), `bytes */${whole.length}`);
    });
  }

  const partial = [
    ['overlapping ranges merge', 'bytes=0-5,3-8', 0, 9],
    ['touching ranges in reverse order merge', 'bytes=10-19,0-9', 0, 20],
    ['a suffix range', 'bytes=-50', () => whole.length - 50, 50],
    ['a last position past 2^64 is clamped', 'bytes=0-99999999999999999999999', 0, () => whole.length],
    ['an unsatisfiable range beside a good one is dropped', () => `bytes=${whole.length + 10}-,0-0`, 0, 1],
  ];
  for (const [name, range, offset, length] of partial) {
    test(`${name}: 206 with exactly those bytes`, async () => {
      const value = (x) => (typeof x === 'function' ? x() : x);
      const { response, bytes } = await ranged(value(range));
      const [start, count] = [value(offset), value(length)];
      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes ${start}-${start + count - 1}/${whole.length}`);
      assert.deepEqual(bytes, whole.subarray(start, start + count));
    });
  }

  test('disjoint ranges: 200 with the whole file', async () => {
    const { response, bytes } = await ranged('bytes=0-1,4-5');
    assert.equal(response.status, 200);
    assert.deepEqual(bytes, whole);
  });

  test('another unit: ignored, 200 with the whole file', async () => {
    const { response, bytes } = await ranged('items=0-5');
    assert.equal(response.status, 200);
    assert.deepEqual(bytes, whole);
  });
});

// ------------------------------------------------------------- payloads

describe('payloads that are not videos', () => {
  afterEach(assertNothingStored);
  const cases = [
    ['plain text', async () => notAVideo, /not a video file ffprobe can read/],
    ['an empty file', async () => Buffer.alloc(0), /the file is empty/],
    ['an HTML page', async () => Buffer.from('<!doctype html><script>alert(1)</script>'), /not a video file/],
    ['an HLS playlist pointing at /etc/passwd', async () => Buffer.from('#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n'), /not a video file|playlist/],
    ['a still image', async () => makeWith(['-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1'], 'png'), /still image/],
    ['audio only', async () => makeWith(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac'], 'm4a'), /no video stream/],
    ['a truncated MP4', async () => clip.subarray(0, 3000), /truncated|not a video file/],
  ];
  for (const [name, bytes, reason] of cases) {
    test(`${name}: 422`, async () => {
      const { status, text } = await postUpload(multipart([filePart('payload.mp4', await bytes())]));
      assertError(status, text, 422, reason);
    });
  }
});

async function makeWith(inputArgs, extension) {
  const file = path.join(dir, `made.${extension}`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...inputArgs, file]);
  const bytes = await readFile(file);
  await removeDir(file);
  return bytes;
}

// ------------------------------------------------------ slow and greedy

describe('slow and greedy clients', { concurrency: true }, () => {
  const slack = 5000;

  test(`slowloris: a header sent a byte at a time is cut off after the read timeout (${readTimeoutMs / 1000} s)`, async () => {
    const { port } = new URL(web.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const dribble = setInterval(() => socket.write('a'), 250);
    await new Promise((resolve) => socket.on('close', resolve));
    clearInterval(dribble);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= readTimeoutMs - 1000 && elapsed < readTimeoutMs + slack, `closed after ${elapsed} ms`);
    assert.equal((await fetch(`${web.url}/healthz`)).status, 200);
  });

  test('an upload whose body stalls is dropped after the read timeout, and its spool file removed', async () => {
    const { port } = new URL(web.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    const started = Date.now();
    // More than the server's 256 KiB read chunk, so that the spool file exists.
    const bytes = multipart([filePart('stalled.mp4', Buffer.alloc(400 << 10, 0x61))]);
    socket.write(`POST /upload HTTP/1.1\r\nHost: localhost\r\n${authLine(web.url)}Content-Type: multipart/form-data; boundary=hostile-boundary\r\nContent-Length: ${bytes.length}\r\n\r\n`);
    socket.write(bytes.subarray(0, 300 << 10));
    await eventually(async () => assert.equal((await readdir(uploadsDir())).length, 1), 5000);
    await new Promise((resolve) => socket.on('close', resolve));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= readTimeoutMs - 1000 && elapsed < readTimeoutMs + slack, `closed after ${elapsed} ms`);
    await eventually(async () => assert.deepEqual(await readdir(uploadsDir()), []));
  });

  test('the server keeps answering others while slow clients hold connections', async () => {
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      assert.equal((await fetch(`${web.url}/healthz`)).status, 200);
      assert.ok(Date.now() - started < 5000, 'not held up behind the slow clients');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });
});

describe('too many connections', () => {
  afterEach(assertNothingStored);

  test(`connection ${connectionLimit + 1} gets 503 "server is too busy", and the server recovers`, async () => {
    const { port } = new URL(web.url);
    const sockets = [];
    try {
      for (let i = 0; i < connectionLimit; i += 256) {
        const batch = Array.from({ length: Math.min(256, connectionLimit - i) }, () => new Promise((resolve, reject) => {
          const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket));
          socket.on('error', reject);
        }));
        sockets.push(...await Promise.all(batch));
      }
      // Accepted in order: by the time the next one is, all above are registered.
      const { status, text } = await exchange('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      assert.equal(status, 503, text);
      assert.match(text, /server is too busy/);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

// ------------------------------------------------------- storage gRPC

describe('storage server: hostile gRPC calls', () => {
  afterEach(async () => {
    const info = await unary('Info', {});
    assert.ifError(info.error);
    assert.equal(info.response.blob_count, '1');
    const listed = await streamed('List', {});
    assert.ifError(listed.error);
    assert.deepEqual(listed.messages.flatMap((m) => m.blobs.map((b) => b.key)), ['base/blob.bin']);
    const blobs = path.join(storage.dir, 'blobs');
    assert.deepEqual(await readdir(blobs), ['base']);
    await eventually(async () => assert.deepEqual(await readdir(path.join(blobs, 'base')), ['blob.bin']));
    assert.ok(!existsSync(path.join(storage.dir, '..', 'escaped')));
  });

  const bytes = Buffer.from('some bytes that will not be stored');
  test('Put with fewer bytes than declared: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([header('v/short.bin', bytes, { size: String(bytes.length + 10) }), { chunk: bytes }]),
      'INVALID_ARGUMENT', /size\/checksum does not match/);
  });
  test('Put with more bytes than declared: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([header('v/long.bin', bytes, { size: '4' }), { chunk: bytes }]),
      'INVALID_ARGUMENT', /more bytes than the declared size/);
  });
  test('Put whose bytes do not match the declared SHA-256: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([header('v/hash.bin', bytes, { sha256: sha256(Buffer.from('other')) }), { chunk: bytes }]),
      'INVALID_ARGUMENT', /size\/checksum does not match/);
  });
  test('Put over a stored blob with a wrong hash leaves the stored blob intact', async () => {
    assertGrpcError(await put([header('base/blob.bin', bytes, { sha256: sha256(baseBlob) }), { chunk: bytes }]),
      'INVALID_ARGUMENT', /size\/checksum does not match/);
    const got = await streamed('Get', { key: 'base/blob.bin' });
    assert.ifError(got.error);
    assert.deepEqual(Buffer.concat(got.messages.map((m) => m.chunk)), baseBlob);
  });
  test('Put with an uppercase SHA-256: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([header('v/upper.bin', bytes, { sha256: sha256(bytes).toUpperCase() }), { chunk: bytes }]),
      'INVALID_ARGUMENT', /64 lowercase hex digits/);
  });
  const keys = [
    ['a traversal key', '../../escaped', /video id must start/],
    ['a traversal file name', 'v/../../escaped', /more than two parts/],
    ['an absolute path', '/etc/passwd', /empty part/],
    ['four levels', 'v/gen/sub/escaped', /more than two parts/],
    ['a traversal generation', 'v/../escaped', /generation must start/],
    ['percent-encoded dots', '%2e%2e/escaped', /video folder must start/],
    ['backslashes', 'v/..\\..\\escaped', /file name must start/],
    ['a NUL byte', 'v/a\0b', /file name may contain only/],
    ['no slash', 'escaped', /not folder\/filename/],
    ['a 200-character name', `v/${'x'.repeat(200)}`, /longer than 128/],
  ];
  for (const [name, key, reason] of keys) {
    test(`Put with ${name} (${JSON.stringify(key.slice(0, 30))}): INVALID_ARGUMENT`, async () => {
      assertGrpcError(await put([header(key, bytes), { chunk: bytes }]), 'INVALID_ARGUMENT', reason);
    });
  }
  test('Put that starts with a chunk: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([{ chunk: bytes }]), 'INVALID_ARGUMENT', /first message of a put must be its header/);
  });
  test('Put with two headers: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([header('v/two.bin', bytes), header('v/two.bin', bytes), { chunk: bytes }]),
      'INVALID_ARGUMENT', /one header/);
  });
  test('Put with no message at all: INVALID_ARGUMENT', async () => {
    assertGrpcError(await put([]), 'INVALID_ARGUMENT', /without a header/);
  });
  test('Put with a 2 MiB chunk: INVALID_ARGUMENT', async () => {
    const big = Buffer.alloc(2 << 20, 1);
    assertGrpcError(await put([header('v/big.bin', big), { chunk: big }]), 'INVALID_ARGUMENT', /chunks are at most/);
  });
  test('Put with a message over the 4 MiB limit: RESOURCE_EXHAUSTED', async () => {
    const huge = Buffer.alloc(5 << 20, 1);
    assertGrpcError(await put([header('v/huge.bin', huge), { chunk: huge }]), 'RESOURCE_EXHAUSTED', /larger than max/);
  });
  test('Put declaring 2^64-1 bytes: RESOURCE_EXHAUSTED', async () => {
    assertGrpcError(await put([header('v/vast.bin', bytes, { size: '18446744073709551615' })]), 'RESOURCE_EXHAUSTED', /no room/);
  });
  test('Get with a traversal key: INVALID_ARGUMENT', async () => {
    assertGrpcError(await streamed('Get', { key: '../index.db' }), 'INVALID_ARGUMENT', /video folder must start/);
  });
  test('Get past the end of a blob: OUT_OF_RANGE', async () => {
    assertGrpcError(await streamed('Get', { key: 'base/blob.bin', offset: '1000', length: '1' }), 'OUT_OF_RANGE', /past the end/);
    assertGrpcError(await streamed('Get', { key: 'base/blob.bin', offset: '1', length: '18446744073709551615' }), 'OUT_OF_RANGE', /past the end/);
  });
  test('Stat, List and Delete with traversal names: INVALID_ARGUMENT', async () => {
    assertGrpcError(await unary('Stat', { key: 'base/../../LOCK' }), 'INVALID_ARGUMENT', /more than two parts/);
    assertGrpcError(await streamed('List', { video_id: '../blobs' }), 'INVALID_ARGUMENT', /video id must start/);
    assertGrpcError(await unary('Delete', { video_id: '..' }), 'INVALID_ARGUMENT', /video folder must start/);
    assertGrpcError(await unary('Delete', { key: 'base/..' }), 'INVALID_ARGUMENT', /file name must start/);
    assertGrpcError(await unary('Delete', {}), 'INVALID_ARGUMENT', /names a key or a video_id/);
  });
});
