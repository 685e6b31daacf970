// Test certificates made with openssl (Node cannot make them): a CA, a rogue CA, and leaves.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export function hasOpenssl (): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Why a test needing certificates is skipped, or false when it can run. */
export const NO_OPENSSL: string | false = hasOpenssl() ? false : 'openssl not found: cannot make test certificates'

/**
 * Writes into `dir`: ca.crt/key and rogue-ca.crt/key; server.crt/key (127.0.0.1); client.crt/key
 * (CN checkout-client, SAN URI spiffe://prod/ns/shop/sa/checkout); stranger.crt/key (a valid
 * certificate of nobody configured); rogue.crt/key (the client's subject, signed by the rogue CA).
 * EC keys keep it well under a second.
 */
export function makePki (dir: string): void {
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n')
  writeFileSync(join(dir, 'client.ext'), 'subjectAltName=URI:spiffe://prod/ns/shop/sa/checkout,DNS:checkout.internal\n')
  writeFileSync(join(dir, 'stranger.ext'), 'subjectAltName=URI:spiffe://prod/ns/other/sa/stranger\n')
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=routegate test CA', '-days', '1')
  run('req', '-x509', ...ec, '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.crt', '-subj', '/CN=rogue CA', '-days', '1')
  const issue = (name: string, subject: string, ext: string, ca = 'ca') => {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', ext)
  }
  issue('server', '/CN=127.0.0.1', 'server.ext')
  issue('client', '/CN=checkout-client', 'client.ext')
  issue('stranger', '/CN=stranger-client', 'stranger.ext')
  issue('rogue', '/CN=checkout-client', 'client.ext', 'rogue-ca')
}
