// The security suite (issue #14): every attack on accounts, tokens, the
// policy, CSRF and Host is a named test that checks the refusal, and that
// nothing changed afterwards (the video is still there and playable, no
// video was made, no session was handed out).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  adminPassword, authHeaders, killLeftoverServers, makeClip, makeTempDir, makeToken, rawRequest,
  removeDir, startWeb, upload,
} from './harness.mjs';

let dir;
let web;
let clipBytes;
// Tokens of the ordinary users alice (owner of the video) and bob.
const alice = {};
const bob = {};
const videoId = 'alice-clip';

const bearer = (token) => ({ Authorization: `Bearer ${token}` });

// An upload sent whole over a raw socket: fetch() may report a broken pipe
// instead of the answer when the server refuses before reading the body.
async function rawUpload(baseUrl, fileName, bytes, headers = {}) {
  const boundary = 'security-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n` +
      'Content-Type: video/mp4\r\n\r\n'),
    bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const { host } = new URL(baseUrl);
  const lines = Object.entries({ Host: host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return rawRequest(baseUrl, Buffer.concat([Buffer.from(
    `POST /upload HTTP/1.1\r\n${lines}Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
}

async function createUser(name, password, headers = authHeaders(web.url)) {
  return fetch(`${web.url}/api/users`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password, admin: false }),
  });
}

// Logs in through the form, as our own page does unless `headers` say
// otherwise; resolves to the response (redirect not followed).
async function login(baseUrl, user, password, headers = { 'Sec-Fetch-Site': 'same-origin' }, next = '') {
  const body = new URLSearchParams({ user, password, next });
  return fetch(`${baseUrl}/login`, { method: 'POST', body, redirect: 'manual', headers });
}

function sessionOf(response) {
  const cookie = response.headers.get('set-cookie') || '';
  const match = cookie.match(/dvs_session=([^;]*)/);
  return match ? match[1] : '';
}

async function assertVideoIntact() {
  const record = await fetch(`${web.url}/api/videos/${videoId}`);
  assert.equal(record.status, 200, 'the video is still there');
  assert.equal((await record.json()).owner, 'alice');
  const manifest = await fetch(`${web.url}/content/${videoId}/manifest.mpd`);
  assert.equal(manifest.status, 200, 'and playable');
}

async function videoCount() {
  return (await (await fetch(`${web.url}/api/videos`)).json()).videos.length;
}

before(async () => {
  dir = await makeTempDir('dvs-security-');
  clipBytes = await readFile(await makeClip(path.join(dir, 'clip.mp4'), { width: 320, height: 240, seconds: 2 }));
  web = await startWeb(dir);
  for (const [name, holder] of [['alice', alice], ['bob', bob]]) {
    assert.equal((await createUser(name, `${name}-password`)).status, 201);
    holder.password = `${name}-password`;
    for (const scopes of [['upload', 'delete'], ['upload'], ['delete']]) {
      const made = await makeToken(web.url, { user: name, password: holder.password, scopes, ttl_s: 600 });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      holder[scopes.join('+')] = made.body.token;
    }
  }
  const uploaded = await upload(web.url, `${videoId}.mp4`, clipBytes,
    { headers: bearer(alice['upload+delete']), query: '?wait=1' });
  assert.equal(uploaded.status, 200, await uploaded.text());
  await assertVideoIntact();
});

after(async () => {
  if (web) await web.stop();
  await killLeftoverServers();
  await removeDir(dir);
});

describe('the policy', () => {
  test('anonymous delete: 401 with WWW-Authenticate, and the video stays', async () => {
    const response = await fetch(`${web.url}/api/videos/${videoId}`, { method: 'DELETE' });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate'), /^Bearer realm="dvs"/);
    await assertVideoIntact();
  });

  test('delete of another user\'s video with a delete token: 403, and the video stays', async () => {
    const response = await fetch(`${web.url}/api/videos/${videoId}`,
      { method: 'DELETE', headers: bearer(bob['upload+delete']) });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /owner/);
    await assertVideoIntact();
  });

  test('delete with a token that lacks the delete scope: 403, and the video stays', async () => {
    const response = await fetch(`${web.url}/api/videos/${videoId}`,
      { method: 'DELETE', headers: bearer(alice.upload) });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /"delete" scope/);
    await assertVideoIntact();
  });

  test('anonymous upload: 401, and no video is made', async () => {
    const before = await videoCount();
    const { status, text } = await rawUpload(web.url, 'anonymous.mp4', clipBytes);
    assert.equal(status, 401);
    assert.match(text, /WWW-Authenticate: Bearer realm="dvs"/i);
    assert.equal(await videoCount(), before);
  });

  test('upload with a token that lacks the upload scope: 403, and no video is made', async () => {
    const before = await videoCount();
    const { status } = await rawUpload(web.url, 'no-scope.mp4', clipBytes, bearer(alice.delete));
    assert.equal(status, 403);
    assert.equal(await videoCount(), before);
  });

  test('a wrong or forged bearer token: 401, not anonymous', async () => {
    for (const token of ['dvs_' + '0'.repeat(64), 'nonsense', alice.upload.slice(0, -1) + 'x']) {
      const response = await fetch(`${web.url}/api/tokens`, { headers: bearer(token) });
      assert.equal(response.status, 401, token);
    }
  });

  test('an expired token: 401', async () => {
    const made = await makeToken(web.url, { user: 'alice', password: alice.password, scopes: ['delete'], ttl_s: 1 });
    assert.equal(made.status, 201);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const response = await fetch(`${web.url}/api/videos/${videoId}`,
      { method: 'DELETE', headers: bearer(made.body.token) });
    assert.equal(response.status, 401);
    assert.match((await response.json()).error, /expired/);
    await assertVideoIntact();
  });

  test('a revoked token: 401 at once', async () => {
    const made = await makeToken(web.url, { user: 'alice', password: alice.password, scopes: ['delete'], ttl_s: 600 });
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: bearer(made.body.token) })).status, 200);
    const listed = await (await fetch(`${web.url}/api/tokens`, { headers: bearer(alice.upload) })).json();
    assert.ok(listed.tokens.some((token) => token.id === made.body.id));
    assert.ok(listed.tokens.every((token) => !('token' in token)), 'no secrets in the list');
    // bob cannot revoke alice's token; alice can.
    assert.equal((await fetch(`${web.url}/api/tokens/${made.body.id}`,
      { method: 'DELETE', headers: bearer(bob.delete) })).status, 404);
    assert.equal((await fetch(`${web.url}/api/tokens/${made.body.id}`,
      { method: 'DELETE', headers: bearer(alice.upload) })).status, 204);
    const response = await fetch(`${web.url}/api/videos/${videoId}`,
      { method: 'DELETE', headers: bearer(made.body.token) });
    assert.equal(response.status, 401);
    await assertVideoIntact();
  });

  test('a non-admin creating users: 403 (and anonymous: 401); no user is made', async () => {
    assert.equal((await createUser('mallory', 'mallory-password', bearer(alice['upload+delete']))).status, 403);
    assert.equal((await createUser('mallory', 'mallory-password', {})).status, 401);
    const basic = { Authorization: `Basic ${Buffer.from('mallory:mallory-password').toString('base64')}` };
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic })).status, 401);
  });

  test('a non-admin asking for the admin scope, or a token minting tokens: 403', async () => {
    const admin = await makeToken(web.url, { user: 'alice', password: alice.password, scopes: ['admin'] });
    assert.equal(admin.status, 403);
    const minted = await fetch(`${web.url}/api/tokens`, {
      method: 'POST', headers: { ...bearer(alice['upload+delete']), 'Content-Type': 'application/json' },
      body: JSON.stringify({ scopes: ['upload'], ttl_s: 60 }),
    });
    assert.equal(minted.status, 403);
  });

  test('users: a taken name is 409, a weak password or a bad name 400', async () => {
    assert.equal((await createUser('alice', 'another-password')).status, 409);
    assert.equal((await createUser('carol', 'short')).status, 400);
    assert.equal((await createUser('../etc', 'long-enough-password')).status, 400);
  });

  test('the owner deletes their own video with a delete token (and it is gone)', async () => {
    const uploaded = await upload(web.url, 'bob-clip.mp4', clipBytes, { headers: bearer(bob.upload), query: '?wait=1' });
    assert.equal(uploaded.status, 200);
    assert.equal((await fetch(`${web.url}/api/videos/bob-clip`, { method: 'DELETE', headers: bearer(bob.delete) })).status, 204);
    assert.equal((await fetch(`${web.url}/api/videos/bob-clip`)).status, 404);
  });
});

describe('sessions and CSRF', () => {
  test('session cookie flags: HttpOnly, SameSite=Lax, Path=/, not Secure over http', async () => {
    const response = await login(web.url, 'alice', alice.password);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/');
    const cookie = response.headers.get('set-cookie');
    assert.match(cookie, /^dvs_session=dvs_[0-9a-f]{64};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Path=\//);
    assert.doesNotMatch(cookie, /Secure/);
  });

  test('cross-site upload riding a session cookie: 403, and no video is made', async () => {
    const session = sessionOf(await login(web.url, 'alice', alice.password));
    const before = await videoCount();
    for (const headers of [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'null' }, { 'Sec-Fetch-Site': 'same-site', Origin: web.url }]) {
      const { status, text } = await rawUpload(web.url, 'csrf.mp4', clipBytes,
        { Cookie: `dvs_session=${session}`, ...headers });
      assert.equal(status, 403, JSON.stringify(headers));
      assert.match(text, /cross-site request refused/);
    }
    assert.equal(await videoCount(), before);
    // The same session from our own page may upload.
    const own = await upload(web.url, 'own-page.mp4', clipBytes,
      { anonymous: true, headers: { Cookie: `dvs_session=${session}`, 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal(own.status, 303);
  });

  test('cross-site delete riding a session cookie: 403, and the video stays', async () => {
    const session = sessionOf(await login(web.url, 'alice', alice.password));
    const response = await fetch(`${web.url}/api/videos/${videoId}`, {
      method: 'DELETE', headers: { Cookie: `dvs_session=${session}`, Origin: 'https://evil.example' },
    });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /cross-site/);
    await assertVideoIntact();
  });

  test('cross-site delete riding Basic credentials the browser remembered: 403, and the video stays', async () => {
    const basic = `Basic ${Buffer.from(`alice:${alice.password}`).toString('base64')}`;
    const response = await fetch(`${web.url}/api/videos/${videoId}`, {
      method: 'DELETE', headers: { Authorization: basic, Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    });
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /cross-site/);
    await assertVideoIntact();
  });

  test('login CSRF: a cross-site login form gets 403 and no session', async () => {
    const response = await login(web.url, 'alice', alice.password,
      { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(response.status, 403);
    assert.equal(sessionOf(response), '');
  });

  test('open redirect: a login\'s next pointing elsewhere goes to /', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const response = await login(web.url, 'alice', alice.password, {}, next);
      assert.equal(response.status, 303);
      assert.equal(response.headers.get('location'), '/', next);
    }
    const local = await login(web.url, 'alice', alice.password, {}, `/videos/${videoId}`);
    assert.equal(local.headers.get('location'), `/videos/${videoId}`);
  });

  test('a failed login re-shows the form with 401 and hands out no session', async () => {
    const response = await login(web.url, 'alice', 'not-her-password');
    assert.equal(response.status, 401);
    assert.equal(sessionOf(response), '');
    assert.match(await response.text(), /Wrong user name or password/);
  });

  test('logout ends the session on the server, not just in the browser', async () => {
    const session = sessionOf(await login(web.url, 'alice', alice.password));
    const cookie = { Cookie: `dvs_session=${session}` };
    assert.match(await (await fetch(`${web.url}/`, { headers: cookie })).text(), /id="logged-in-user">alice/);
    const out = await fetch(`${web.url}/logout`, {
      method: 'POST', redirect: 'manual', headers: { ...cookie, 'Sec-Fetch-Site': 'same-origin' },
    });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie'), /dvs_session=;.*Max-Age=0/);
    // The old cookie, replayed, is nobody.
    assert.match(await (await fetch(`${web.url}/`, { headers: cookie })).text(), /id="login-link"/);
    const replay = await fetch(`${web.url}/api/videos/${videoId}`, {
      method: 'DELETE', headers: { ...cookie, 'Sec-Fetch-Site': 'same-origin' },
    });
    assert.equal(replay.status, 401);
    await assertVideoIntact();
  });
});

// After the login tests: the failed logins here count against 127.0.0.1.
describe('managing accounts', () => {
  const basic = (user, password) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const patchUser = (name, body, headers) => fetch(`${web.url}/api/users/${name}`, {
    method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });

  test('a user changes their own password with the current one; the old password and their tokens stop working', async () => {
    assert.equal((await createUser('carol', 'carol-password')).status, 201);
    const token = await makeToken(web.url, { user: 'carol', password: 'carol-password', scopes: ['upload'], ttl_s: 600 });
    const wrong = await patchUser('carol', { password: 'carol-new-password', current_password: 'nope-nope' },
      basic('carol', 'carol-password'));
    assert.equal(wrong.status, 403, await wrong.text());
    const missing = await patchUser('carol', { password: 'carol-new-password' }, basic('carol', 'carol-password'));
    assert.equal(missing.status, 400, await missing.text());
    const changed = await patchUser('carol', { password: 'carol-new-password', current_password: 'carol-password' },
      basic('carol', 'carol-password'));
    assert.equal(changed.status, 200, await changed.text());
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('carol', 'carol-password') })).status, 401);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: bearer(token) })).status, 401);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('carol', 'carol-new-password') })).status, 200);
  });

  test('a non-admin cannot set another user\'s password, make themself admin, list or delete users: 403', async () => {
    assert.equal((await patchUser('alice', { password: 'taken-over!' }, basic('bob', bob.password))).status, 403);
    assert.equal((await patchUser('bob', { admin: true }, basic('bob', bob.password))).status, 403);
    assert.equal((await fetch(`${web.url}/api/users`, { headers: basic('bob', bob.password) })).status, 403);
    assert.equal((await fetch(`${web.url}/api/users/alice`, { method: 'DELETE', headers: basic('bob', bob.password) })).status, 403);
    assert.equal((await patchUser('alice', { admin: 'yes' }, authHeaders(web.url))).status, 400);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('alice', alice.password) })).status, 200);
  });

  test('the account page changes one\'s password with a plain form; anonymous visitors are sent to log in', async () => {
    const anonymous = await fetch(`${web.url}/account`, { redirect: 'manual' });
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get('location'), '/login?next=/account');
    assert.equal((await createUser('erin', 'erin-password')).status, 201);
    const cookie = `dvs_session=${sessionOf(await login(web.url, 'erin', 'erin-password'))}`;
    const page = await fetch(`${web.url}/account`, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<form id="password-form" method="post" action="\/account\/password">/);
    const post = (fields) => fetch(`${web.url}/account/password`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams(fields),
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin' },
    });
    const differ = await post({ current: 'erin-password', password: 'erin-new-password', repeat: 'erin-other-password' });
    assert.equal(differ.status, 400);
    assert.match(await differ.text(), /The two new passwords differ/);
    const changed = await post({ current: 'erin-password', password: 'erin-new-password', repeat: 'erin-new-password' });
    assert.equal(changed.status, 303);
    assert.equal(changed.headers.get('location'), '/account?changed=1');
    const after = await fetch(`${web.url}/account?changed=1`, { headers: { Cookie: cookie } });
    assert.match(await after.text(), /id="account-notice"[^>]*>Your password was changed/);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('erin', 'erin-new-password') })).status, 200);
    // Cross-site, riding the cookie: refused like every other cookie write.
    const forged = await fetch(`${web.url}/account/password`, {
      method: 'POST', redirect: 'manual',
      body: new URLSearchParams({ current: 'erin-new-password', password: 'attacker-pass', repeat: 'attacker-pass' }),
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' },
    });
    assert.equal(forged.status, 403);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('erin', 'erin-new-password') })).status, 200);
  });

  test('an administrator lists users, resets a password, and deletes a user, whose videos stay theirs', async () => {
    const list = await (await fetch(`${web.url}/api/users`, { headers: authHeaders(web.url) })).json();
    assert.deepEqual(list.users.map((u) => u.name).filter((n) => ['admin', 'alice', 'bob'].includes(n)), ['admin', 'alice', 'bob']);
    assert.ok(list.users.every((u) => !('password_hash' in u)));
    assert.equal((await createUser('dave', 'dave-password')).status, 201);
    assert.equal((await patchUser('dave', { password: 'reset-by-admin' }, authHeaders(web.url))).status, 200);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('dave', 'reset-by-admin') })).status, 200);
    const deleted = await fetch(`${web.url}/api/users/dave`, { method: 'DELETE', headers: authHeaders(web.url) });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${web.url}/api/tokens`, { headers: basic('dave', 'reset-by-admin') })).status, 401);
    assert.equal((await fetch(`${web.url}/api/users/dave`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 404);
    const last = await patchUser('admin', { admin: false }, authHeaders(web.url));
    assert.equal(last.status, 409);
    assert.match(await last.text(), /last administrator/);
    await assertVideoIntact();
  });
});

describe('Host', () => {
  test('a foreign Host (DNS rebinding): 421, also for writes', async () => {
    for (const request of [
      'GET / HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n',
      `GET /api/videos/${videoId} HTTP/1.1\r\nHost: attacker.example:8080\r\nConnection: close\r\n\r\n`,
      `DELETE /api/videos/${videoId} HTTP/1.1\r\nHost: attacker.example\r\nAuthorization: Bearer ${alice.delete}\r\nConnection: close\r\n\r\n`,
      'GET / HTTP/1.1\r\nConnection: close\r\n\r\n',
    ]) {
      const { status, text } = await rawRequest(web.url, request);
      assert.equal(status, 421, text);
    }
    await assertVideoIntact();
  });

  test('local names and addresses are ours, and probes answer any Host', async () => {
    const { port } = new URL(web.url);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const { status } = await rawRequest(web.url, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(status, 200, host);
    }
    const { status } = await rawRequest(web.url, 'GET /healthz HTTP/1.1\r\nHost: probe.internal\r\nConnection: close\r\n\r\n');
    assert.equal(status, 200);
  });
});

describe('a server behind https, a first start without a password, brute force', () => {
  let other;
  let otherDir;
  before(async () => {
    otherDir = await makeTempDir('dvs-security-2-');
    other = await startWeb(otherDir, ['--public-url', 'https://videos.example.test'],
      { env: { DVS_ADMIN_PASSWORD: '' } });
  });
  after(async () => {
    if (other) await other.stop();
    await removeDir(otherDir);
  });

  test('the random admin password is in a file readable by its owner only, and not in the log', async () => {
    const file = path.join(otherDir, 'data', 'admin-password');
    const info = await stat(file);
    assert.equal(info.mode & 0o777, 0o600);
    const password = (await readFile(file, 'utf8')).trim();
    assert.ok(password.length >= 16);
    assert.ok(other.log().includes(file), 'its path is logged');
    assert.ok(!other.log().includes(password), 'the password is not');
    assert.notEqual(password, adminPassword);
    const response = await login(other.url, 'admin', password);
    assert.equal(response.status, 303);
    // --public-url https: the cookie is Secure.
    assert.match(response.headers.get('set-cookie'), /; Secure/);
  });

  test('the public URL\'s host is accepted, and its origin may post', async () => {
    const { status } = await rawRequest(other.url, 'GET / HTTP/1.1\r\nHost: videos.example.test\r\nConnection: close\r\n\r\n');
    assert.equal(status, 200);
    const response = await login(other.url, 'admin', 'wrong-password', { Origin: 'https://videos.example.test' });
    assert.equal(response.status, 401);
  });

  test('brute-force login: 429 with Retry-After after 5 failures, even with the right password', async () => {
    const password = (await readFile(path.join(otherDir, 'data', 'admin-password'), 'utf8')).trim();
    let last;
    for (let i = 0; i < 6; ++i) last = await login(other.url, 'admin', `guess-${i}`);
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    const right = await login(other.url, 'admin', password);
    assert.equal(right.status, 429);
    assert.equal(sessionOf(right), '');
    const basic = await makeToken(other.url, { password });
    assert.equal(basic.status, 429);
  });
});

describe('--anonymous-uploads', () => {
  test('lets anyone upload, with a warning at start, but not delete', async () => {
    const lanDir = await makeTempDir('dvs-security-lan-');
    const lan = await startWeb(lanDir, ['--anonymous-uploads']);
    try {
      assert.match(lan.log(), /--anonymous-uploads: anyone/);
      const response = await upload(lan.url, 'lan.mp4', clipBytes, { anonymous: true, query: '?wait=1' });
      assert.equal(response.status, 200, await response.text());
      assert.equal((await (await fetch(`${lan.url}/api/videos/lan`)).json()).owner, '');
      assert.equal((await fetch(`${lan.url}/api/videos/lan`, { method: 'DELETE' })).status, 401);
      assert.equal((await fetch(`${lan.url}/api/videos/lan`)).status, 200);
    } finally {
      await lan.stop();
      await removeDir(lanDir);
    }
  });
});
