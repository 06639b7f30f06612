// nginx as the yardstick: one worker, sendfile, keep-alive, no access log,
// its own prefix and config in a temp folder, on a free loopback port. It
// serves each video's folder (dvs's CONTENT_ROOT/<id>/<generation>) at
// /content/<id>/<file>, the paths dvs uses.
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { startProcess, stopProcess } from './procs.mjs';
import { childPids } from './proc_stats.mjs';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function config(prefix, port, videoFolders) {
  return `# Written by bench/lib/nginx.mjs for one benchmark run.
${process.getuid() === 0 ? 'user root;  # the temp folders are 0700\n' : ''}worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
master_process on;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; }
http {
  include /etc/nginx/mime.types;
  types { application/dash+xml mpd; video/iso.segment m4s; }
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/tmp/client;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
${Object.entries(videoFolders).map(([id, folder]) => `    location /content/${id}/ { alias ${folder}/; }\n`).join('')}  }
}
`;
}

// `videoFolders`: {video id: the folder of its files}.
export async function startNginx(prefix, videoFolders) {
  await mkdir(path.join(prefix, 'tmp'), { recursive: true });
  const port = await freePort();
  const file = path.join(prefix, 'nginx.conf');
  const absolute = Object.fromEntries(Object.entries(videoFolders).map(([id, folder]) => [id, path.resolve(folder)]));
  const text = config(prefix, port, absolute);
  await writeFile(file, text);
  const args = ['-p', prefix, '-c', file];
  const child = startProcess('nginx', args);
  let log = '';
  child.stderr.on('data', (data) => { log += data; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}:\n${log}`);
    try {
      await new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(); });
        socket.on('error', reject);
      });
      break;
    } catch (error) {
      if (i > 100) throw new Error(`nginx does not answer on ${url}: ${error.message}\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    pid: child.pid,
    pids: () => [child.pid, ...childPids(child.pid)],
    command: `nginx ${args.join(' ')}`,
    config: text,
    stop: () => stopProcess(child),
  };
}
