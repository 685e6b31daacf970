import { readFileSync } from 'node:fs'
import { createServer, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig } from './helpers/idp.js'
import { makePki, NO_OPENSSL } from '../helpers/pki.js'

t.test('a client certificate verified in a real TLS handshake names the caller', { skip: NO_OPENSSL }, async t => {
  const dir = t.testdir({})
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
