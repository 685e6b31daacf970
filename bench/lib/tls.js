// A throwaway self-signed certificate for the HTTPS upstream, made with openssl at bench start.
// It is its own CA (the proxies trust exactly this file) and names 127.0.0.1 in its SAN, which
// is what undici checks when connecting to https://127.0.0.1. An EC key keeps handshakes cheap.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export function makeSelfSigned (dir) {
  const certFile = join(dir, 'upstream.crt')
  const keyFile = join(dir, 'upstream.key')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE'
  ], { stdio: 'pipe' })
  return { certFile, keyFile }
}
