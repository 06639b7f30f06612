// The video pipeline end to end: quick playback of H.264 uploads, the ladder
// for everything else, hostile files, HLS over HTTP, and restarts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { authHeaders, makeClip, makeTempDir, removeDir, startWeb, upload, waitForVideo } from './harness.mjs';
import { parseManifest } from './dash.mjs';

const run = promisify(execFile);
const json = { headers: { Accept: 'application/json' } };

let dir;
let web;

async function ffmpeg(...args) {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

async function listDir(...parts) {
  return readdir(path.join(dir, ...parts)).catch(() => []);
}

before(async () => {
  dir = await makeTempDir('dvs-pipeline-');
  web = await startWeb(dir);
});

after(async () => {
  if (web) await web.stop();
  await removeDir(dir);
});

test('hostile and unusable uploads get 422 with the reason, and nothing is stored', async () => {
  const files = {
    'empty.mp4': async (file) => writeFile(file, ''),
    'notes.mp4': async (file) => writeFile(file, 'hello, this is text\n'.repeat(100)),
    'list.m3u8': async (file) => writeFile(file, '#EXTM3U\n#EXTINF:4,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'),
    'picture.png': async (file) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=320x240:d=1', '-frames:v', '1', file),
    'song.m4a': async (file) => ffmpeg('-f', 'lavfi', '-i', 'sine=d=2', '-c:a', 'aac', file),
    'cut.mp4': async (file) => {
      await makeClip(`${file}.whole.mp4`, { width: 320, height: 240, seconds: 3 });
      const whole = await readFile(`${file}.whole.mp4`);
      await writeFile(file, whole.subarray(0, Math.floor(whole.length * 0.3)));
    },
  };
  for (const [name, make] of Object.entries(files)) {
    const file = path.join(dir, name);
    await make(file);
    const response = await upload(web.url, name, await readFile(file), json);
    const body = await response.json();
    assert.equal(response.status, 422, `${name}: ${response.status} ${JSON.stringify(body)}`);
    assert.ok(body.error.length > 5, `${name} says why: ${body.error}`);
    const id = name.replace(/\.[^.]+$/, '');
    assert.equal((await fetch(`${web.url}/api/videos/${id}`)).status, 404, `${name} left a record`);
    assert.ok(!(await listDir('data', 'content')).includes(id), `${name} left content`);
    assert.ok(!(await listDir('data', 'work', 'jobs')).includes(id), `${name} left a job`);
  }
  assert.deepEqual(await listDir('data', 'work', 'uploads'), []);
});

test('an H.264 upload plays as uploaded before the ladder, and the early manifest keeps working', async () => {
  const clip = await makeClip(path.join(dir, 'quick.mp4'), { seconds: 12 });
  const response = await upload(web.url, 'quick.mp4', await readFile(clip), json);
  assert.equal(response.status, 202);
  const early = await waitForVideo(web.url, 'quick', (v) => v.playable || v.state !== 'processing');
  assert.equal(early.state, 'processing', 'playable before the ladder is complete');
  const earlyManifest = await (await fetch(`${web.url}${early.urls.dash}`)).text();
  const earlyFiles = parseManifest(earlyManifest).representations.flatMap((r) => r.files);
  assert.ok(earlyFiles.every((f) => /-q\d/.test(f)), `copy segments: ${earlyFiles}`);

  const ready = await waitForVideo(web.url, 'quick', (v) => v.state !== 'processing');
  assert.equal(ready.state, 'ready', ready.error);
  const ladder = parseManifest(await (await fetch(`${web.url}${ready.urls.dash}`)).text());
  assert.ok(ladder.representations.filter((r) => r.height > 0).length >= 2);
  for (const file of earlyFiles) {
    assert.equal((await fetch(`${web.url}/content/quick/${file}`)).status, 200, `${file} of the early manifest`);
  }
});

test('ffprobe over HTTP lists every rendition in both manifest.mpd and master.m3u8', async () => {
  const video = await waitForVideo(web.url, 'quick', (v) => v.state === 'ready');
  const heights = video.renditions.map((r) => r.height).sort((a, b) => a - b);
  for (const url of [video.urls.dash, video.urls.hls]) {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,height',
      '-of', 'json', `${web.url}${url}`]);
    const streams = JSON.parse(stdout).streams;
    const seen = [...new Set(streams.filter((s) => s.codec_type === 'video').map((s) => s.height))].sort((a, b) => a - b);
    assert.deepEqual(seen, heights, `${url}`);
    assert.ok(streams.some((s) => s.codec_type === 'audio'), `${url} has audio`);
  }
});

test('VP9 goes straight to the ladder; odd sizes, silent and rotated phone videos come out right', async () => {
  const cases = [
    { name: 'webm-clip.webm', args: ['-f', 'lavfi', '-i', 'testsrc2=s=640x360:d=3', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'], width: 640, height: 360 },
    { name: 'odd-size.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=s=1278x718:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], width: 1278, height: 718 },
    // A phone's portrait video: landscape pixels plus a rotation, which
    // ffmpeg 5.1 writes only when copying.
    { name: 'phone.mp4', args: ['-i', path.join(dir, 'odd-size.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90'], width: 718, height: 1278 },
  ];
  for (const c of cases) {
    const file = path.join(dir, c.name);
    await ffmpeg(...c.args, file);
    assert.equal((await upload(web.url, c.name, await readFile(file), json)).status, 202, c.name);
  }
  const sawPlayableWhileProcessing = {};
  for (const c of cases) {
    const id = c.name.replace(/\.[^.]+$/, '');
    const video = await waitForVideo(web.url, id, (v) => {
      if (v.playable && v.state === 'processing') sawPlayableWhileProcessing[id] = true;
      return v.state !== 'processing';
    });
    assert.equal(video.state, 'ready', `${id}: ${video.error}`);
    assert.deepEqual([video.width, video.height], [c.width, c.height], `${id}: ${JSON.stringify(video.renditions)}`);
    for (const r of video.renditions) {
      assert.ok(r.width % 2 === 0 && r.height % 2 === 0, `${id} even: ${r.width}x${r.height}`);
      assert.ok(r.height <= Math.max(c.height, c.width), `${id} never upscaled`);
    }
    if (c.height > c.width) assert.ok(video.renditions.every((r) => r.height > r.width), `${id} upright`);
    assert.ok(video.files.some((f) => f.name === 'poster.jpg'), `${id} has a poster`);
  }
  assert.ok(!sawPlayableWhileProcessing['webm-clip'], 'VP9 is not played before its ladder');
  const webm = await (await fetch(`${web.url}/api/videos/webm-clip`)).json();
  assert.ok(!webm.files.some((f) => /-q\d/.test(f.name)), 'no copy rendition for VP9');
});

test('deleting a video while it is processing stops its job and keeps nothing', async () => {
  const clip = await makeClip(path.join(dir, 'doomed.mp4'), { seconds: 20 });
  assert.equal((await upload(web.url, 'doomed.mp4', await readFile(clip), json)).status, 202);
  assert.equal((await fetch(`${web.url}/api/videos/doomed`, { method: 'DELETE', headers: authHeaders(web.url) })).status, 204);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await fetch(`${web.url}/api/videos/doomed`)).status, 404);
  assert.ok(!(await listDir('data', 'content')).includes('doomed'));
  assert.ok(!(await listDir('data', 'work', 'jobs')).includes('doomed'));
});

test('a web server killed mid-transcode resumes the video when it starts again', async () => {
  const clip = await makeClip(path.join(dir, 'interrupted.mp4'), { seconds: 30 });
  assert.equal((await upload(web.url, 'interrupted.mp4', await readFile(clip), json)).status, 202);
  await waitForVideo(web.url, 'interrupted', (v) => v.progress > 0.05 || v.state !== 'processing');
  await web.stop('SIGKILL');
  web = await startWeb(dir);
  const video = await waitForVideo(web.url, 'interrupted', (v) => v.state !== 'processing');
  assert.equal(video.state, 'ready', video.error);
  const manifest = parseManifest(await (await fetch(`${web.url}${video.urls.dash}`)).text());
  for (const file of manifest.representations.flatMap((r) => r.files)) {
    assert.equal((await fetch(`${web.url}/content/interrupted/${file}`, { method: 'HEAD' })).status, 200, file);
  }
});
