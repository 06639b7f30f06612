// Viewers at a player's pace, as opposed to wrk's clients that ask again the
// moment an answer is in: each viewer holds its own keep-alive connection,
// starts at a random moment within the first segment's time, fetches the
// manifest, then one segment every `segmentSeconds`, until `seconds` are up.
import http from 'node:http';

function get(agent, url) {
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.get(url, { agent, timeout: 10000 }, (response) => {
      let length = 0;
      response.on('data', (chunk) => { length += chunk.length; });
      response.on('end', () => resolve({ status: response.statusCode, length, ms: performance.now() - started }));
      response.on('error', (error) => resolve({ error: error.code || error.message }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve({ error: error.code || error.message }));
  });
}

const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(samples, expectedLength) {
  const ok = samples.filter((s) => !s.error && s.status === 200 && s.length === expectedLength);
  const sorted = ok.map((s) => s.ms).sort((a, b) => a - b);
  const errors = samples.filter((s) => s.error).map((s) => s.error);
  return {
    requests: samples.length,
    ok: ok.length,
    errors: errors.length,
    errorKinds: [...new Set(errors)].slice(0, 5),
    bad: samples.filter((s) => !s.error && (s.status !== 200 || s.length !== expectedLength)).length,
    p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

export async function paceViewers({ manifestUrl, manifestBytes, segmentUrl, segmentBytes, viewers, seconds,
  segmentSeconds = 4 }) {
  const manifests = [];
  const segments = [];
  const end = performance.now() + seconds * 1000;
  const viewer = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await sleep(Math.random() * segmentSeconds * 1000);
    manifests.push(await get(agent, manifestUrl));
    for (let next = performance.now(); next < end; next += segmentSeconds * 1000) {
      await sleep(Math.max(0, next - performance.now()));
      segments.push(await get(agent, segmentUrl));
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: viewers }, viewer));
  return { manifest: summary(manifests, manifestBytes), segment: summary(segments, segmentBytes) };
}
