// A multipart upload of `bytes` bytes generated as it is sent (one 1 MiB
// random block, repeated), so the client never holds the body in memory.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const kBlock = 1 << 20;

// Resolves with the answer's status and body, the time the whole body took to
// go into the socket, and the time until the answer.
export function streamUpload(url, fileName, bytes) {
  const boundary = `----dvs-bench-${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; ` +
    `filename="${fileName}"\r\nContent-Type: video/mp4\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const block = randomBytes(kBlock);
  const target = new URL('/upload', url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bodySent = null;
    const request = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'POST',
      headers: {
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': head.length + bytes + tail.length,
        Accept: 'application/json',
      },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => {
        const answered = performance.now();
        resolve({
          status: response.statusCode,
          body: text,
          bodySeconds: ((bodySent ?? answered) - started) / 1000,
          totalSeconds: (answered - started) / 1000,
          complete: bodySent !== null,
        });
      });
    });
    request.on('error', reject);
    (async () => {
      // An early answer (413, 422) may close the socket: stop waiting then.
      const write = (chunk) => new Promise((ok) => {
        if (request.destroyed || request.write(chunk)) return ok();
        const done = () => { request.off('drain', done); request.off('close', done); ok(); };
        request.once('drain', done);
        request.once('close', done);
      });
      await write(head);
      for (let sent = 0; sent < bytes && !request.destroyed; sent += kBlock) {
        const size = Math.min(kBlock, bytes - sent);
        await write(size === kBlock ? block : block.subarray(0, size));
      }
      await write(tail);
      request.end(() => { bodySent = performance.now(); });
    })().catch(reject);
  });
}
