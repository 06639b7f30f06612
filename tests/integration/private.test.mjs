// Private and unlisted videos and signed playback URLs (issue #14, item 5),
// as an attacker meets them: each attack is a named test that checks the
// refusal (404 where a private video must not be revealed, 403 for a signed
// URL that is forged, expired or stale) and that nothing changed.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseManifest } from './dash.mjs';
import {
  authHeaders, killLeftoverServers, makeClip, makeTempDir, makeToken, rawRequest, removeDir, startWeb,
} from './harness.mjs';

let dir;
let web;
let clipBytes;
const alice = { password: 'alice-password' };
const bob = { password: 'bob-password' };
const privateId = 'alice-private';
const unlistedId = 'alice-unlisted';
const publicId = 'alice-public';

const bearer = (token) => ({ Authorization: `Bearer ${token}` });
const sameOrigin = { 'Sec-Fetch-Site': 'same-origin' };

// The visibility goes in the form, before or after the file, or in the query.
async function uploadAs(token, fileName, { visibility, fieldFirst = true, query = '' } = {}) {
  const form = new FormData();
  if (visibility && fieldFirst) form.append('visibility', visibility);
  form.append('file', new Blob([clipBytes]), fileName);
  if (visibility && !fieldFirst) form.append('visibility', visibility);
  return fetch(`${web.url}/upload?wait=1${query}`, { method: 'POST', body: form, headers: bearer(token) });
}

async function listAll(headers = {}, limit = 1) {
  const seen = [];
  let cursor = '';
  for (let pages = 0; pages < 20; pages++) {
    const response = await fetch(`${web.url}/api/videos?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { headers });
    assert.equal(response.status, 200);
    const body = await response.json();
    seen.push(...body.videos.map((video) => video.id));
    if (!body.next_cursor) return seen;
    cursor = encodeURIComponent(body.next_cursor);
  }
  throw new Error('the list did not end');
}

async function playback(id, headers, body = {}) {
  return fetch(`${web.url}/api/videos/${id}/playback`, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
}

async function signedUrls(id = privateId, body = {}) {
  const response = await playback(id, bearer(alice.token), body);
  assert.equal(response.status, 200);
  return response.json();
}

async function assertPrivateIntact() {
  const record = await fetch(`${web.url}/api/videos/${privateId}`, { headers: bearer(alice.token) });
  assert.equal(record.status, 200, 'the owner still sees the video');
  const meta = await record.json();
  assert.equal(meta.visibility, 'private');
  assert.equal(meta.state, 'ready');
}

before(async () => {
  dir = await makeTempDir('dvs-private-');
  clipBytes = await readFile(await makeClip(path.join(dir, 'clip.mp4'), { width: 320, height: 240, seconds: 2 }));
  web = await startWeb(dir);
  for (const [name, holder] of [['alice', alice], ['bob', bob]]) {
    const made = await fetch(`${web.url}/api/users`, {
      method: 'POST', headers: { ...authHeaders(web.url), 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, password: holder.password, admin: false }),
    });
    assert.equal(made.status, 201);
    const token = await makeToken(web.url, { user: name, password: holder.password, scopes: ['upload', 'delete'], ttl_s: 600 });
    assert.equal(token.status, 201);
    holder.token = token.body.token;
  }
  const session = await fetch(`${web.url}/login`, {
    method: 'POST', body: new URLSearchParams({ user: 'alice', password: alice.password }), redirect: 'manual', headers: sameOrigin,
  });
  alice.cookie = { Cookie: (session.headers.get('set-cookie') || '').split(';')[0] };
  // Oldest first: the newest videos are the ones a visitor may not see.
  assert.equal((await uploadAs(alice.token, `${publicId}.mp4`)).status, 200);
  const unlisted = await uploadAs(alice.token, `${unlistedId}.mp4`, { visibility: 'unlisted', fieldFirst: false });
  assert.equal(unlisted.status, 200);
  assert.equal((await unlisted.json()).visibility, 'unlisted');
  const hidden = await uploadAs(alice.token, `${privateId}.mp4`, { query: '&visibility=private' });
  assert.equal(hidden.status, 200);
  assert.equal((await hidden.json()).visibility, 'private');
  await assertPrivateIntact();
});

after(async () => {
  if (web) await web.stop();
  await killLeftoverServers();
  await removeDir(dir);
});

describe('a private video is invisible to others', () => {
  const notFoundBody = async (url, headers) => {
    const response = await fetch(url, { headers });
    assert.equal(response.status, 404, url);
    return response.text();
  };

  for (const [who, headers] of [['anonymous', () => ({})], ['another user', () => bearer(bob.token)]]) {
    test(`${who} reading its page, record and files: 404, as for a video that does not exist`, async () => {
      for (const [route, missing] of [
        [`/videos/${privateId}`, '/videos/no-such-video'],
        [`/api/videos/${privateId}`, '/api/videos/no-such-video'],
        [`/content/${privateId}/manifest.mpd`, '/content/no-such-video/manifest.mpd'],
      ]) {
        const hidden = await notFoundBody(`${web.url}${route}`, headers());
        const absent = await notFoundBody(`${web.url}${missing}`, headers());
        assert.equal(hidden.replaceAll(privateId, 'X'), absent.replaceAll('no-such-video', 'X'), route);
      }
      await assertPrivateIntact();
    });

    test(`${who} listing videos: neither the private nor the unlisted one is there, and pages stay full`, async () => {
      assert.deepEqual(await listAll(headers()), [publicId]);
      const first = await (await fetch(`${web.url}/api/videos?limit=1`, { headers: headers() })).json();
      assert.deepEqual(first.videos.map((video) => video.id), [publicId]);
      const page = await (await fetch(`${web.url}/`, { headers: headers() })).text();
      assert.doesNotMatch(page, new RegExp(privateId));
      assert.doesNotMatch(page, new RegExp(unlistedId));
    });

    test(`${who} asking for signed URLs: 404 or 401, and none handed out`, async () => {
      const response = await playback(privateId, headers());
      assert.equal(response.status, who === 'anonymous' ? 401 : 404);
      assert.doesNotMatch(await response.text(), /\/play\//);
    });
  }

  test('the owner lists her own private and unlisted videos, marked, in a stable walk', async () => {
    for (const limit of [1, 2, 50]) {
      assert.deepEqual(await listAll(bearer(alice.token), limit), [privateId, unlistedId, publicId]);
    }
    const page = await (await fetch(`${web.url}/`, { headers: alice.cookie })).text();
    assert.match(page, /visibility-private/);
    assert.match(page, /visibility-unlisted/);
  });

  test('an administrator sees the private video\'s page and record', async () => {
    assert.equal((await fetch(`${web.url}/videos/${privateId}`, { headers: authHeaders(web.url) })).status, 200);
    assert.equal((await fetch(`${web.url}/api/videos/${privateId}`, { headers: authHeaders(web.url) })).status, 200);
  });
});

describe('an unlisted video', () => {
  test('is reachable by its URL by anyone: page, record and files', async () => {
    assert.equal((await fetch(`${web.url}/videos/${unlistedId}`)).status, 200);
    assert.equal((await fetch(`${web.url}/api/videos/${unlistedId}`)).status, 200);
    assert.equal((await fetch(`${web.url}/content/${unlistedId}/manifest.mpd`)).status, 200);
  });
});

describe('changing the visibility', () => {
  const patch = (id, headers, body) => fetch(`${web.url}/api/videos/${id}`, {
    method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const visibilityOf = async (id) =>
    (await (await fetch(`${web.url}/api/videos/${id}`, { headers: bearer(alice.token) })).json()).visibility;

  test('anonymous: 401, and nothing changes', async () => {
    const response = await patch(publicId, {}, { visibility: 'private' });
    assert.equal(response.status, 401);
    assert.equal(await visibilityOf(publicId), 'public');
  });

  test('another user on a public video: 403, and nothing changes', async () => {
    const response = await patch(publicId, bearer(bob.token), { visibility: 'private' });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /owner/);
    assert.equal(await visibilityOf(publicId), 'public');
  });

  test('another user on a private video: 404, and nothing changes', async () => {
    assert.equal((await patch(privateId, bearer(bob.token), { visibility: 'public' })).status, 404);
    await assertPrivateIntact();
  });

  test('a cross-site PATCH riding the owner\'s cookie: 403, and nothing changes', async () => {
    const response = await patch(privateId, { ...alice.cookie, Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
      { visibility: 'public' });
    assert.equal(response.status, 403);
    await assertPrivateIntact();
  });

  test('a bad value or another field: 400, and nothing changes', async () => {
    for (const body of [{ visibility: 'secret' }, { visibility: 1 }, { title: 'x' }, { visibility: 'public', owner: 'bob' }]) {
      assert.equal((await patch(publicId, bearer(alice.token), body)).status, 400, JSON.stringify(body));
    }
    assert.equal(await visibilityOf(publicId), 'public');
  });

  test('a bad visibility at upload: 400, and no video is made', async () => {
    assert.equal((await uploadAs(alice.token, 'bad-visibility.mp4', { visibility: 'secret' })).status, 400);
    // Refused before the body is read: sent whole over a raw socket, as fetch
    // may report a broken pipe instead of the answer.
    const boundary = 'private-boundary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bad-visibility.mp4"\r\n\r\n`),
      clipBytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    const raw = await rawRequest(web.url, Buffer.concat([Buffer.from(
      `POST /upload?visibility=secret HTTP/1.1\r\nHost: ${new URL(web.url).host}\r\nAuthorization: Bearer ${alice.token}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
    assert.equal(raw.status, 400);
    assert.match(raw.text, /public, unlisted or private/);
    assert.equal((await fetch(`${web.url}/api/videos/bad-visibility`, { headers: bearer(alice.token) })).status, 404);
  });

  test('the owner changes it, with her session on the page\'s form or her token', async () => {
    let response = await patch(publicId, { ...alice.cookie, ...sameOrigin }, { visibility: 'unlisted' });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).visibility, 'unlisted');
    assert.deepEqual(await listAll(), []);
    response = await patch(publicId, bearer(alice.token), { visibility: 'public' });
    assert.equal(response.status, 200);
    assert.deepEqual(await listAll(), [publicId]);
  });
});

describe('signed playback URLs', () => {
  test('the owner plays the private video: manifest, every segment by its relative name, HLS playlists', async () => {
    const urls = await signedUrls();
    assert.ok(urls.expires_at_ms > Date.now() + 3500 * 1000 && urls.expires_at_ms <= Date.now() + 3600 * 1000);
    assert.match(urls.dash, new RegExp(`^/play/${privateId}/\\d+/[0-9a-f]{64}/manifest\\.mpd$`));
    const manifest = await fetch(`${web.url}${urls.dash}`);
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('content-type'), 'application/dash+xml');
    const { representations } = parseManifest(await manifest.text());
    assert.ok(representations.length > 0);
    for (const representation of representations) {
      for (const file of representation.files) {
        const segment = await fetch(new URL(file, `${web.url}${urls.dash}`));
        assert.equal(segment.status, 200, file);
        assert.match(segment.headers.get('cache-control'), /^private/);
        await segment.arrayBuffer();
      }
    }
    const master = await fetch(`${web.url}${urls.hls}`);
    assert.equal(master.status, 200);
    const playlists = (await master.text()).split('\n').filter((line) => line && !line.startsWith('#'));
    assert.ok(playlists.length > 0);
    for (const name of playlists) {
      const playlistUrl = new URL(name, `${web.url}${urls.hls}`);
      const playlist = await fetch(playlistUrl);
      assert.equal(playlist.status, 200, name);
      const text = await playlist.text();
      const names = text.split('\n').filter((line) => line && !line.startsWith('#'));
      const init = text.match(/#EXT-X-MAP:URI="([^"]+)"/);
      for (const segmentName of [...(init ? [init[1]] : []), ...names]) {
        const segment = await fetch(new URL(segmentName, playlistUrl));
        assert.equal(segment.status, 200, segmentName);
        await segment.arrayBuffer();
      }
    }
    assert.equal((await fetch(`${web.url}${urls.poster}`)).status, 200);
  });

  test('a signed URL serves what /content serves: ETag, Range, HEAD, only indexed names', async () => {
    const urls = await signedUrls();
    const prefix = urls.dash.replace(/manifest\.mpd$/, '');
    const owned = await fetch(`${web.url}/content/${privateId}/manifest.mpd`, { headers: bearer(alice.token) });
    const signed = await fetch(`${web.url}${urls.dash}`);
    assert.equal(owned.status, 200);
    assert.equal(signed.headers.get('etag'), owned.headers.get('etag'));
    assert.equal(await signed.text(), await owned.text());
    const range = await fetch(`${web.url}${urls.dash}`, { headers: { Range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.equal((await range.text()).length, 10);
    const again = await fetch(`${web.url}${urls.dash}`, { headers: { 'If-None-Match': signed.headers.get('etag') } });
    assert.equal(again.status, 304);
    const head = await fetch(`${web.url}${urls.dash}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), owned.headers.get('content-length'));
    assert.equal((await fetch(`${web.url}${prefix}source.mp4`)).status, 404);
    assert.equal((await fetch(`${web.url}${prefix}..%2Fmanifest.mpd`)).status, 400);
  });

  test('a tampered signature: 403', async () => {
    const urls = await signedUrls();
    const tampered = urls.dash.replace(/\/([0-9a-f])([0-9a-f]{63})\//, (_, first, rest) => `/${first === 'a' ? 'b' : 'a'}${rest}/`);
    assert.notEqual(tampered, urls.dash);
    assert.equal((await fetch(`${web.url}${tampered}`)).status, 403);
    const shortened = urls.dash.replace(/\/([0-9a-f]{64})\//, (_, sig) => `/${sig.slice(0, 40)}/`);
    assert.equal((await fetch(`${web.url}${shortened}`)).status, 403);
  });

  test('a later expiry written into the URL: 403', async () => {
    const urls = await signedUrls();
    const extended = urls.dash.replace(/\/(\d+)\//, (_, ms) => `/${Number(ms) + 86400000}/`);
    assert.equal((await fetch(`${web.url}${extended}`)).status, 403);
  });

  test('an expired URL: 403', async () => {
    const urls = await signedUrls(privateId, { ttl_s: 1 });
    assert.equal((await fetch(`${web.url}${urls.dash}`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const response = await fetch(`${web.url}${urls.dash}`);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /expired/);
  });

  test('the URL of one video used for another, or for one that does not exist: 403', async () => {
    const urls = await signedUrls();
    for (const other of [publicId, unlistedId, 'no-such-video']) {
      const response = await fetch(`${web.url}${urls.dash.replace(`/play/${privateId}/`, `/play/${other}/`)}`);
      assert.equal(response.status, 403, other);
    }
  });

  test('a ttl out of range: 400; another user on a public video: 403', async () => {
    for (const ttl_s of [0, -5, 86401, 'long', 1.5]) {
      assert.equal((await playback(privateId, bearer(alice.token), { ttl_s })).status, 400, String(ttl_s));
    }
    assert.equal((await playback(publicId, bearer(bob.token))).status, 403);
  });

  test('the owner\'s page embeds signed URLs; the page is not stored by any cache', async () => {
    const response = await fetch(`${web.url}/videos/${privateId}`, { headers: alice.cookie });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'private, no-store');
    const page = await response.text();
    const dash = page.match(/data-dash="([^"]+)"/)[1];
    assert.match(dash, new RegExp(`^/play/${privateId}/`));
    assert.equal((await fetch(`${web.url}${dash}`)).status, 200);
    assert.match(page, /id="visibility-form"/);
  });

  test('a URL of an earlier upload of the same id (deleted, uploaded again): 403', async () => {
    const old = await signedUrls();
    const deleted = await fetch(`${web.url}/api/videos/${privateId}`, { method: 'DELETE', headers: bearer(alice.token) });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${web.url}${old.dash}`)).status, 403);
    assert.equal((await uploadAs(alice.token, `${privateId}.mp4`, { visibility: 'private' })).status, 200);
    assert.equal((await fetch(`${web.url}${old.dash}`)).status, 403);
    const fresh = await signedUrls();
    assert.equal((await fetch(`${web.url}${fresh.dash}`)).status, 200);
    await assertPrivateIntact();
  });
});
