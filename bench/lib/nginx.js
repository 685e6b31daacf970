// Debian's nginx, run twice with configs of our own: as the upstream (a fixed JSON answer to every
// POST, over HTTP and HTTPS) and as the proxy_pass baseline. Each instance lives in its own
// prefix in the bench's temp dir (pid file, temp paths, error log), runs in the foreground as our
// child (`daemon off`) with one worker, and never touches /etc/nginx or /var/log/nginx.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startChild, stopChild, waitForPort } from './children.js'
import { childPids } from './proc.js'
import { RESPONSE_BODY } from './payloads.js'

/** nginx lives in /usr/sbin, which is not on every user's PATH. */
export function nginxBinary () {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK)
      return join(dir, 'nginx')
    } catch {}
  }
  return undefined
}

// Shared by both instances. Keep-alive limits are raised because nginx's default
// keepalive_requests (1000) would close every connection after 1000 requests and make each
// proxy (and wrk) reconnect mid-run, which is not what is being measured.
function common (prefix) {
  return `worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
`
}

function httpCommon (prefix) {
  return `  access_log off;
  server_tokens off;
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 300s;
`
}

/**
 * The upstream: every request gets the fixed JSON, except one without an Authorization header,
 * which gets a 401 (so a proxy that forgot to add the token shows up as errors). The token
 * itself is not checked. `tls` adds an HTTPS listener with the given certificate.
 */
export function upstreamConf ({ prefix, port, tls }) {
  const tlsServer = tls === undefined
    ? ''
    : `  server {
    listen 127.0.0.1:${tls.port} ssl;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_session_cache shared:bench:1m;
    include ${join(prefix, 'answer.conf')};
  }
`
  return {
    'nginx.conf': `${common(prefix)}http {
${httpCommon(prefix)}  map $http_authorization $bench_no_auth { default 0; "" 1; }
  server {
    listen 127.0.0.1:${port};
    include ${join(prefix, 'answer.conf')};
  }
${tlsServer}}
`,
    // nginx strings are single-quoted here; the body has no ' or $ (checked in startNginx).
    'answer.conf': `default_type application/json;
location / {
  if ($bench_no_auth) { return 401 '{"error_code":"UNAUTHENTICATED","message":"no token"}'; }
  return 200 '${RESPONSE_BODY}';
}
`
  }
}

/**
 * The nginx proxy_pass baseline: a keep-alive upstream pool, the token set as Authorization
 * (replacing the caller's key), HTTP/1.1 to the upstream with an empty Connection header
 * (nginx's documented recipe for upstream keep-alive).
 */
export function proxyConf ({ prefix, port, upstreamPort, token }) {
  return {
    'nginx.conf': `${common(prefix)}http {
${httpCommon(prefix)}  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${token}";
    }
  }
}
`
  }
}

/**
 * Writes the files into `prefix` and runs `nginx -p prefix -c nginx.conf -e error.log -g
 * 'daemon off;'` (-e so that not even the startup error log goes to /var/log/nginx). Resolves
 * when every port in `ports` accepts connections. `pids()` is the master and its workers, for
 * CPU accounting; the master is idle under load, so this is in effect the workers' CPU.
 */
export async function startNginx ({ name, prefix, files, ports }) {
  if (RESPONSE_BODY.includes("'") || RESPONSE_BODY.includes('$')) throw new Error('response body cannot be an nginx string')
  mkdirSync(prefix, { recursive: true })
  for (const [file, text] of Object.entries(files)) writeFileSync(join(prefix, file), text)
  const bin = nginxBinary()
  if (bin === undefined) throw new Error('nginx not found (apt-get install nginx)')
  const child = startChild(name, bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log'), '-g', 'daemon off;'])
  for (const port of ports) await waitForPort(port, { child })
  return {
    name,
    pid: child.pid,
    errorLog: join(prefix, 'error.log'),
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => stopChild(child)
  }
}
