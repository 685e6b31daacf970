import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig } from './helpers/idp.js'

// Node cannot make certificates; openssl can, in well under a second with EC keys.
function hasOpenssl (): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function makePki (dir: string): void {
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
  issue('rogue', '/CN=checkout-client', 'client.ext', 'rogue-ca')
}

t.test('a client certificate verified in a real TLS handshake names the caller', { skip: hasOpenssl() ? false : 'openssl not found: cannot make test certificates' }, async t => {
  const dir = t.testdir({
    'server.ext': 'subjectAltName=IP:127.0.0.1\n',
    'client.ext': 'subjectAltName=URI:spiffe://prod/ns/shop/sa/checkout,DNS:checkout.internal\n'
  })
  makePki(dir)
  const file = (name: string) => readFileSync(join(dir, name))
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout', mtlsSubjects: ['URI:spiffe://prod/ns/shop/sa/checkout'] }), callerConfig({ name: 'legacy', mtlsSubjects: ['legacy-client'] })]
  })
  // As server.tls with clientCaFile and requireClientCert: false configures the listener.
  const server = createServer({ key: file('server.key'), cert: file('server.crt'), ca: file('ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    auth.authenticate({ headers: req.headers, socket: req.socket as TLSSocket }).then(r => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(r.ok ? { caller: r.caller.name, via: r.via } : r))
    }, (err: Error) => { res.statusCode = 500; res.end(err.message) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as AddressInfo

  const get = (client: { key?: Buffer, cert?: Buffer }) => new Promise<unknown>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca: file('ca.crt'), agent: false, ...client }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve(JSON.parse(body)) })
    })
    req.on('error', reject)
    req.end()
  })

  t.same(await get({ key: file('client.key'), cert: file('client.crt') }), { caller: 'checkout', via: 'mtls' })
  t.same(await get({}), { ok: false, reason: 'missing caller credentials' }, 'no certificate')
  t.same(await get({ key: file('rogue.key'), cert: file('rogue.crt') }), { ok: false, reason: 'missing caller credentials' },
    'a certificate from another CA names no one, whatever its subject says')
})
