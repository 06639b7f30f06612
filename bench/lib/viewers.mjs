// Viewers at a player's pace, as opposed to wrk's clients that ask again the
// moment an answer is in: each viewer holds its own keep-alive connection,
// starts at a random moment within the first segment's time, fetches the
// manifest, then one segment every `segmentSeconds`, until `seconds` are up.
//
// The viewers are bench/paced_viewers.cc (one thread, epoll), not node: a node
// client receiving 350 MB/s spends its time collecting garbage, and its own
// event loop then dominates the latency it reports.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function paceViewers({ client, manifestUrl, manifestBytes, segmentUrl, segmentBytes, viewers, seconds,
  segmentSeconds = 4 }) {
  const manifest = new URL(manifestUrl);
  const segment = new URL(segmentUrl);
  if (manifest.port !== segment.port) throw new Error('manifest and segment must be on one server');
  const args = ['--port', manifest.port, '--manifest', manifest.pathname, '--manifest-bytes', String(manifestBytes),
    '--segment', segment.pathname, '--segment-bytes', String(segmentBytes), '--viewers', String(viewers),
    '--seconds', String(seconds), '--segment-seconds', String(segmentSeconds)];
  const { stdout } = await run(client, args, { timeout: (seconds + 60) * 1000 });
  return { ...JSON.parse(stdout), command: [client, ...args].join(' ') };
}
