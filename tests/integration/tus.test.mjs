// Resumable uploads with tus 1.0 at /api/uploads/ (issue #17), driven by the
// stock client tus-js-client: a 30+ MB video in 4 MiB chunks, an abort that
// resumes from the server's offset, a kill -9 and restart mid-upload, the
// checksum extension (460, offset unchanged), termination, expiry, and who
// may see an upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  authHeaders, killLeftoverServers, makeClip, makeTempDir, makeToken, removeDir, startWeb,
} from './harness.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const tus = require('tus-js-client');
const run = promisify(execFile);

const MiB = 1 << 20;
const TUS = { 'Tus-Resumable': '1.0.0' };
const CHUNK = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };

let dir;
let web;
let bigBytes;   // a real video of 30 MB or more (lossless noise compresses badly)
let smallBytes;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const b64 = (text) => Buffer.from(text).toString('base64');
const eventually = async (check, what, timeoutMs = 60000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
};

before(async () => {
  dir = await makeTempDir('dvs-tus-');
  const big = path.join(dir, 'big.mp4');
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
    'testsrc2=size=640x360:rate=30:duration=3', '-vf', 'noise=alls=60:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', big]);
  bigBytes = await readFile(big);
  assert.ok(bigBytes.length >= 30 * MiB, `the test video has ${bigBytes.length} bytes`);
  smallBytes = await readFile(await makeClip(path.join(dir, 'small.mp4'),
    { width: 320, height: 240, seconds: 2 }));
  // Nothing is transcoded here: the uploads are the subject.
  await mkdir(path.join(dir, 'a'));
  web = await startWeb(path.join(dir, 'a'), ['--jobs', '0']);
});

after(async () => {
  await killLeftoverServers();
  await removeDir(dir);
});

// Uploads `bytes` with tus-js-client; resolves with { upload, patches,
// videoLocation } on success. `onProgress(upload, sent, total)` may abort.
function tusUpload(baseUrl, bytes, filename, {
  uploadUrl, onProgress, retryDelays = [0, 500, 1000], headers = authHeaders(baseUrl),
  metadata = {},
} = {}) {
  const patches = [];
  let videoLocation = null;
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      endpoint: `${baseUrl}/api/uploads/`,
      uploadUrl,
      chunkSize: 4 * MiB,
      retryDelays,
      headers,
      metadata: { filename, ...metadata },
      onBeforeRequest(request) {
        if (request.getMethod() === 'PATCH') patches.push(Number(request.getHeader('Upload-Offset')));
      },
      onAfterResponse(request, response) {
        const location = response.getHeader('Video-Location');
        if (location) videoLocation = location;
      },
      onProgress(sent, total) { onProgress?.(upload, sent, total, reject); },
      onSuccess() { resolve({ upload, patches, videoLocation }); },
      onError(error) { reject(error); },
    });
    upload.start();
  });
}

async function head(url, headers = authHeaders(web.url)) {
  return fetch(url, { method: 'HEAD', headers: { ...TUS, ...headers } });
}

async function createUpload(baseUrl, filename, length, headers = authHeaders(baseUrl)) {
  const response = await fetch(`${baseUrl}/api/uploads/`, {
    method: 'POST',
    headers: { ...TUS, ...headers, 'Upload-Length': String(length),
      'Upload-Metadata': `filename ${b64(filename)}` },
  });
  assert.equal(response.status, 201, await response.text());
  return new URL(response.headers.get('location'), baseUrl).href;
}

async function patch(url, offset, bytes, extra = {}, headers = authHeaders(web.url)) {
  return fetch(url, {
    method: 'PATCH',
    headers: { ...CHUNK, ...headers, 'Upload-Offset': String(offset), ...extra },
    body: bytes,
  });
}

// Starts a PATCH at `offset` that announces the rest of the big video but
// sends only `sent` bytes of it and stalls; resolves with its socket.
async function stalledPatch(baseUrl, url, sent, offset = 0) {
  const { hostname, port, pathname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve) => socket.on('connect', resolve));
  const auth = authHeaders(baseUrl).Authorization;
  socket.write(`PATCH ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${auth}\r\n` +
    `Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: ${offset}\r\n` +
    `Content-Length: ${bigBytes.length - offset}\r\n\r\n`);
  socket.write(bigBytes.subarray(offset, offset + sent));
  return socket;
}

// Keeps a stalled PATCH (see stalledPatch) running while `probe` is tried
// until it says yes. A probe sent before the server took up the stalled
// PATCH may hold what it needs at that moment (the upload, an upload place):
// the stalled one is then refused, and its answer waits for the body it
// announced, which never comes. So while the probes fail, the stalled PATCH
// is sent again every 2 s. Resolves with the stalled PATCH's socket.
async function whileStalled(baseUrl, url, sent, probe, what, server) {
  let socket;
  let startedAt = 0;
  const start = async () => {
    socket?.destroy();
    // From the upload's offset: a stalled PATCH that held the upload keeps
    // what it sent when it is cut.
    const offset = Number((await head(url, authHeaders(baseUrl))).headers.get('upload-offset'));
    socket = await stalledPatch(baseUrl, url, sent, offset);
    startedAt = Date.now();
  };
  await start();
  let last = '';
  await eventually(async () => {
    if (Date.now() - startedAt > 2000) await start();
    last = await probe();
    return last === true;
  }, what, 30000).catch((error) => {
    throw new Error(`${error.message}; the last probe: ${last}; the server's log:\n${server?.log().slice(-4000)}`);
  });
  return socket;
}

// Sends one request on a raw socket; resolves with all it got back. A client
// still sending when the server answers early (429) and closes may see EPIPE
// before it reads the answer (fetch does), so refusals are read this way.
async function rawExchange(baseUrl, method, pathname, headers, body) {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let answer = '';
  socket.on('data', (chunk) => { answer += chunk; });
  const fields = { Host: `${hostname}:${port}`, ...authHeaders(baseUrl), ...headers,
    'Content-Length': String(body.length), Connection: 'close' };
  socket.write(`${method} ${pathname} HTTP/1.1\r\n` +
    Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n');
  socket.write(body);
  await new Promise((resolve) => { socket.on('close', resolve); socket.on('error', resolve); });
  return answer;
}

async function rawFormUpload(baseUrl, filename, bytes) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), filename);
  const request = new Request(`${baseUrl}/upload`, { method: 'POST', body: form });
  return rawExchange(baseUrl, 'POST', '/upload', { 'Content-Type': request.headers.get('content-type') },
    Buffer.from(await request.arrayBuffer()));
}

// The source file a finished upload became (kept in the job folder, as
// nothing transcodes here).
async function sourceOf(webDir, id) {
  return readFile(path.join(webDir, 'data', 'work', 'jobs', id, 'source'));
}

test('OPTIONS announces the version, the extensions, the size limit and the checksums', async () => {
  const response = await fetch(`${web.url}/api/uploads/`, { method: 'OPTIONS' });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('tus-version'), '1.0.0');
  assert.equal(response.headers.get('tus-resumable'), '1.0.0');
  const extensions = response.headers.get('tus-extension').split(',');
  for (const name of ['creation', 'creation-with-upload', 'termination', 'checksum', 'expiration']) {
    assert.ok(extensions.includes(name), name);
  }
  assert.equal(response.headers.get('tus-max-size'), String(8 * 1024 * MiB));
  assert.deepEqual(response.headers.get('tus-checksum-algorithm').split(','), ['sha1', 'sha256']);
});

test('a 30+ MB video in 4 MiB chunks arrives whole and becomes a video', async () => {
  const { upload, patches, videoLocation } = await tusUpload(web.url, bigBytes, 'Whole Upload.mp4');
  assert.equal(patches.length, Math.ceil(bigBytes.length / (4 * MiB)));
  assert.deepEqual(patches, patches.map((_, i) => i * 4 * MiB));
  assert.equal(videoLocation, '/videos/Whole-Upload');
  const status = await (await fetch(upload.url, { headers: authHeaders(web.url) })).json();
  assert.equal(status.state, 'done');
  assert.equal(status.video_url, '/videos/Whole-Upload');
  assert.equal(status.offset, bigBytes.length);
  const video = await (await fetch(`${web.url}/api/videos/Whole-Upload`)).json();
  assert.equal(video.owner, 'admin');
  assert.equal(sha256(await sourceOf(path.join(dir, 'a'), 'Whole-Upload')), sha256(bigBytes));
});

test('an upload aborted at 30 % resumes from the server\'s offset, not from 0', async () => {
  let url;
  await tusUpload(web.url, bigBytes, 'aborted.mp4', {
    onProgress(upload, sent, total, reject) {
      if (sent >= 0.3 * total && !url) {
        url = upload.url;
        upload.abort().then(() => reject(new Error('aborted')));
      }
    },
  }).catch((error) => assert.equal(error.message, 'aborted'));
  assert.ok(url);
  const offset = Number((await head(url)).headers.get('upload-offset'));
  assert.ok(offset > 0 && offset < bigBytes.length, `the server kept ${offset} bytes`);
  const { patches } = await tusUpload(web.url, bigBytes, 'aborted.mp4', { uploadUrl: url });
  assert.equal(patches[0], offset, 'the first chunk after the resume starts at the server\'s offset');
  assert.equal(sha256(await sourceOf(path.join(dir, 'a'), 'aborted')), sha256(bigBytes));
});

test('an upload spanning a kill -9 and a restart of dvs web completes', async () => {
  const webDir = path.join(dir, 'restart');
  await mkdir(webDir);
  let server = await startWeb(webDir, ['--jobs', '0']);
  let uploadPath;
  await tusUpload(server.url, bigBytes, 'killed.mp4', {
    retryDelays: null,
    onProgress(upload, sent, total) {
      if (sent >= 0.4 * total && !uploadPath) {
        uploadPath = new URL(upload.url).pathname;
        server.child.kill('SIGKILL');
      }
    },
  }).then(() => assert.fail('the upload cannot finish on a killed server'), () => {});
  assert.ok(uploadPath, 'the server was killed mid-upload');
  await new Promise((resolve) => (server.alive() ? server.child.on('exit', resolve) : resolve()));
  server = await startWeb(webDir, ['--jobs', '0']);
  const url = `${server.url}${uploadPath}`;
  const headResponse = await head(url, authHeaders(server.url));
  assert.equal(headResponse.status, 200);
  const offset = Number(headResponse.headers.get('upload-offset'));
  assert.ok(offset > 0, 'bytes received before the kill are kept');
  const { patches } = await tusUpload(server.url, bigBytes, 'killed.mp4', { uploadUrl: url });
  assert.equal(patches[0], offset);
  assert.equal(sha256(await sourceOf(webDir, 'killed')), sha256(bigBytes));
  await server.stop();
});

test('a server stopped after it made the video but before it saved the upload\'s outcome: the upload ends done', async () => {
  const webDir = path.join(dir, 'outcome');
  await mkdir(webDir);
  let server = await startWeb(webDir, ['--jobs', '0']);
  const url = await createUpload(server.url, 'outcome.mp4', smallBytes.length);
  const id = new URL(url).pathname.split('/').pop();
  assert.equal((await patch(url, 0, smallBytes, {}, authHeaders(server.url))).status, 204);
  await server.stop('SIGKILL');
  // What a crash between the video's record and the upload's outcome leaves:
  // every byte received, the bytes moved into the video, the upload not done.
  const info = path.join(webDir, 'data', 'work', 'tus', id, 'info');
  const before = await readFile(info, 'utf8');
  assert.match(before, /^state=done$/m);
  await writeFile(info, before.replace(/^state=done$/m, 'state=receiving').replace(/^video_id=.*$/m, 'video_id='));
  server = await startWeb(webDir, ['--jobs', '0']);
  const status = await (await fetch(`${server.url}/api/uploads/${id}`, { headers: authHeaders(server.url) })).json();
  assert.equal(status.state, 'done', JSON.stringify(status));
  assert.equal(status.video_id, 'outcome');
  const again = await patch(`${server.url}/api/uploads/${id}`, smallBytes.length, Buffer.alloc(0), {},
    authHeaders(server.url));
  assert.equal(again.status, 204);
  assert.equal(again.headers.get('video-location'), '/videos/outcome');
  assert.equal(sha256(await sourceOf(webDir, 'outcome')), sha256(smallBytes));
  await server.stop();
});

test('a chunk whose checksum does not match gets 460 and the offset does not move', async () => {
  const url = await createUpload(web.url, 'checked.mp4', smallBytes.length);
  const first = smallBytes.subarray(0, 50000);
  const wrong = createHash('sha1').update('other bytes').digest('base64');
  let response = await patch(url, 0, first, { 'Upload-Checksum': `sha1 ${wrong}` });
  assert.equal(response.status, 460);
  assert.equal(response.statusText, 'Checksum Mismatch');
  assert.equal((await head(url)).headers.get('upload-offset'), '0');
  response = await patch(url, 0, first, { 'Upload-Checksum': 'md5 AAAAAAAAAAAAAAAAAAAAAA==' });
  assert.equal(response.status, 400, 'an algorithm the server does not offer');
  const sha1 = createHash('sha1').update(first).digest('base64');
  response = await patch(url, 0, first, { 'Upload-Checksum': `sha1 ${sha1}` });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('upload-offset'), '50000');
  const rest = smallBytes.subarray(50000);
  const sha256sum = createHash('sha256').update(rest).digest('base64');
  response = await patch(url, 50000, rest, { 'Upload-Checksum': `sha256 ${sha256sum}` });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('video-location'), '/videos/checked');
  assert.equal(sha256(await sourceOf(path.join(dir, 'a'), 'checked')), sha256(smallBytes));
});

test('a PATCH at the wrong offset is 409, one while another runs is 423, a cut one keeps its bytes', async () => {
  const url = await createUpload(web.url, 'contended.mp4', bigBytes.length);
  assert.equal((await patch(url, 10, smallBytes.subarray(0, 10))).status, 409);
  // A PATCH that sends part of its body and stalls holds the upload.
  const sent = 400000;
  // Offset 5 is wrong either way: 409 when free, 423 while the other PATCH runs.
  const socket = await whileStalled(web.url, url, sent, async () => {
    const response = await patch(url, 5, smallBytes.subarray(0, 10));
    return response.status === 423 || `${response.status} ${await response.text()}`;
  }, 'a concurrent PATCH to be refused with 423', web);
  socket.end();  // the connection ends mid-body
  // What arrived of the cut chunk is kept (synced first), so a client goes on from there.
  let offset = 0;
  await eventually(async () => {
    offset = Number((await head(url)).headers.get('upload-offset'));
    return offset > 0;
  }, 'the offset to count bytes of the cut PATCH', 20000);
  assert.ok(offset < bigBytes.length, `offset ${offset}`);
  const { patches } = await tusUpload(web.url, bigBytes, 'contended.mp4', { uploadUrl: url });
  assert.equal(patches[0], offset);
  assert.equal(sha256(await sourceOf(path.join(dir, 'a'), 'contended')), sha256(bigBytes));
});

test('a tus chunk being received takes one of the --max-uploads places, like a form upload', async () => {
  await mkdir(path.join(dir, 'one'));
  const one = await startWeb(path.join(dir, 'one'), ['--jobs', '0', '--max-uploads', '1']);
  try {
    const url = await createUpload(one.url, 'slot.mp4', bigBytes.length);
    const other = await createUpload(one.url, 'other.mp4', smallBytes.length);
    // The probe's offset is wrong: with the place to itself it gets 409 and
    // leaves the other upload as it is.
    const socket = await whileStalled(one.url, url, 100000, async () => {
      const answer = await rawExchange(one.url, 'PATCH', new URL(other).pathname,
        { ...CHUNK, 'Upload-Offset': '5' }, smallBytes.subarray(0, 10));
      return /^HTTP\/1\.1 429 [^]*too many uploads at once/.test(answer) || answer.split('\r\n')[0];
    }, 'a second chunk to be refused with 429', one);
    assert.match(await rawFormUpload(one.url, 'form.mp4', smallBytes), /^HTTP\/1\.1 429 [^]*too many uploads/);
    socket.destroy();
    // The place is free again once the stalled chunk has ended.
    await eventually(async () => (await patch(other, 0, smallBytes, {}, authHeaders(one.url))).status === 204,
      'the second chunk to be taken once the first ended', 20000);
  } finally {
    await one.stop();
  }
});

test('termination: DELETE answers 204 and the upload and its bytes are gone', async () => {
  const url = await createUpload(web.url, 'terminated.mp4', smallBytes.length);
  assert.equal((await patch(url, 0, smallBytes.subarray(0, 1000))).status, 204);
  const id = new URL(url).pathname.split('/').pop();
  const folder = path.join(dir, 'a', 'data', 'work', 'tus', id);
  await stat(path.join(folder, 'data'));
  const response = await fetch(url, { method: 'DELETE', headers: { ...TUS, ...authHeaders(web.url) } });
  assert.equal(response.status, 204);
  assert.equal((await head(url)).status, 404);
  await assert.rejects(stat(folder));
});

test('an abandoned upload expires: its bytes are removed and its URL is 404', async () => {
  const webDir = path.join(dir, 'expiry');
  await mkdir(webDir);
  const server = await startWeb(webDir, ['--jobs', '0', '--upload-expiry', '2']);
  const url = await createUpload(server.url, 'abandoned.mp4', smallBytes.length, authHeaders(server.url));
  const response = await patch(url, 0, smallBytes.subarray(0, 5000), {}, authHeaders(server.url));
  assert.equal(response.status, 204);
  const expires = Date.parse(response.headers.get('upload-expires'));
  assert.ok(expires > Date.now() - 1000 && expires < Date.now() + 10000, 'Upload-Expires is in 2 s');
  const id = new URL(url).pathname.split('/').pop();
  const folder = path.join(webDir, 'data', 'work', 'tus', id);
  await stat(path.join(folder, 'data'));
  // The sweep removes it without anyone asking for it.
  await eventually(async () => stat(folder).then(() => false, () => true), 'the sweep', 30000);
  assert.equal((await head(url, authHeaders(server.url))).status, 404);
  await server.stop();
});

test('creation checks: the size limit (413), a taken id (409), a bad name (400), the version (412)', async () => {
  const post = (headers) => fetch(`${web.url}/api/uploads/`, {
    method: 'POST', headers: { ...TUS, ...authHeaders(web.url), ...headers } });
  let response = await post({ 'Upload-Length': String(9 * 1024 * MiB),
    'Upload-Metadata': `filename ${b64('huge.mp4')}` });
  assert.equal(response.status, 413);
  response = await post({ 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('Whole Upload.mp4')}` });
  assert.equal(response.status, 409, 'the id Whole-Upload is taken');
  response = await post({ 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('bad\u0007name.mp4')}` });
  assert.equal(response.status, 400);
  response = await post({ 'Upload-Length': '10' });
  assert.equal(response.status, 400, 'no filename');
  response = await post({ 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('v.mp4')},visibility ${b64('secret')}` });
  assert.equal(response.status, 400, 'a visibility that does not exist');
  response = await post({ 'Tus-Resumable': '0.2.2', 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('v.mp4')}` });
  assert.equal(response.status, 412);
  assert.equal(response.headers.get('tus-version'), '1.0.0');
});

test('a file that is not a video is refused at the end with 422 and no video is made', async () => {
  const junk = Buffer.alloc(100000, 7);
  const url = await createUpload(web.url, 'junk.mp4', junk.length);
  const response = await patch(url, 0, junk);
  assert.equal(response.status, 422);
  assert.equal((await fetch(`${web.url}/api/videos/junk`)).status, 404);
  const status = await (await fetch(url, { headers: authHeaders(web.url) })).json();
  assert.equal(status.state, 'failed');
});

test('an upload is its creator\'s: another user gets 404, anonymous 401', async () => {
  const created = await fetch(`${web.url}/api/users`, {
    method: 'POST', headers: { ...authHeaders(web.url), 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bob', password: 'bob-password', admin: false }),
  });
  assert.equal(created.status, 201);
  const made = await makeToken(web.url, { user: 'bob', password: 'bob-password', scopes: ['upload'] });
  const bob = { Authorization: `Bearer ${made.body.token}` };
  const url = await createUpload(web.url, 'admins.mp4', smallBytes.length);
  assert.equal((await head(url, bob)).status, 404);
  assert.equal((await fetch(url, { headers: bob })).status, 404);
  assert.equal((await patch(url, 0, smallBytes.subarray(0, 10), {}, bob)).status, 404);
  assert.equal((await fetch(url, { method: 'DELETE', headers: { ...TUS, ...bob } })).status, 404);
  assert.equal((await head(url, {})).status, 401);
  assert.equal((await head(url)).headers.get('upload-offset'), '0', 'the owner still has it, untouched');
  // bob's own upload, with visibility, is bob's video.
  const { videoLocation } = await tusUpload(web.url, smallBytes, 'bobs.mp4',
    { headers: bob, metadata: { visibility: 'unlisted' } });
  assert.equal(videoLocation, '/videos/bobs');
  const video = await (await fetch(`${web.url}/api/videos/bobs`)).json();
  assert.equal(video.owner, 'bob');
  assert.equal(video.visibility, 'unlisted');
});
