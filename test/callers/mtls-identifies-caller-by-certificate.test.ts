import type { PeerCertificate } from 'node:tls'
import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { sha256Hex } from '../../src/callers/keys.js'
import { peerNames, splitAltNames, type PeerSocket } from '../../src/callers/mtls.js'
import { callerConfig } from './helpers/idp.js'

/** A TLSSocket as far as the authenticator looks at one. */
function tlsSocket (cert: { CN?: string | string[], san?: string }, authorized = true): PeerSocket {
  return {
    authorized,
    getPeerCertificate: () => ({ subject: cert.CN === undefined ? {} : { CN: cert.CN }, subjectaltname: cert.san } as unknown as PeerCertificate)
  }
}

const callers = [
  callerConfig({ name: 'checkout', mtlsSubjects: ['checkout.prod.internal', 'URI:spiffe://prod/ns/shop/sa/checkout'] }),
  callerConfig({ name: 'reports', mtlsSubjects: ['DNS:reports.prod.internal'], keySha256: [sha256Hex('rgk_reports')] })
]

t.test('an authorized certificate names the caller by CN or SAN entry', async t => {
  const auth = createAuthenticator({ callers })
  t.teardown(() => auth.close())
  const cases: Array<[Parameters<typeof tlsSocket>[0], string]> = [
    [{ CN: 'checkout.prod.internal' }, 'checkout'],
    [{ CN: 'x', san: 'DNS:a.internal, URI:spiffe://prod/ns/shop/sa/checkout' }, 'checkout'],
    [{ CN: ['other', 'checkout.prod.internal'] }, 'checkout'],
    [{ san: 'DNS:reports.prod.internal' }, 'reports']
  ]
  for (const [cert, name] of cases) {
    t.match(await auth.authenticate({ headers: {}, socket: tlsSocket(cert) }), { ok: true, via: 'mtls', caller: { name } }, JSON.stringify(cert))
  }
})

t.test('names must match in their own kind: a CN spelled like a SAN entry names no one', async t => {
  const auth = createAuthenticator({ callers })
  t.same(await auth.authenticate({ headers: {}, socket: tlsSocket({ CN: 'DNS:reports.prod.internal' }) }),
    { ok: false, reason: 'client certificate names no configured caller' })
  t.same(await auth.authenticate({ headers: {}, socket: tlsSocket({ san: 'DNS:checkout.prod.internal' }) }),
    { ok: false, reason: 'client certificate names no configured caller' })
  // A quoted SAN value holding ", " is one entry, not two (CVE-2021-44532).
  t.same(await auth.authenticate({ headers: {}, socket: tlsSocket({ san: 'DNS:"evil, DNS:reports.prod.internal"' }) }),
    { ok: false, reason: 'client certificate names no configured caller' })
})

t.test('an unverified certificate, or a plain socket, names no one', async t => {
  const auth = createAuthenticator({ callers })
  const missing = { ok: false, reason: 'missing caller credentials' }
  t.same(await auth.authenticate({ headers: {}, socket: tlsSocket({ CN: 'checkout.prod.internal' }, false) }), missing)
  t.same(await auth.authenticate({ headers: {}, socket: {} }), missing)
  t.same(await auth.authenticate({ headers: {} }), missing)
  t.same(await auth.authenticate({ headers: {}, socket: { authorized: true, getPeerCertificate: () => null } }), missing)
})

t.test('a credential header takes precedence over the certificate', async t => {
  const auth = createAuthenticator({ callers })
  const socket = tlsSocket({ CN: 'checkout.prod.internal' })
  t.match(await auth.authenticate({ headers: { 'x-api-key': 'rgk_reports' }, socket }), { ok: true, via: 'key', caller: { name: 'reports' } })
  t.same(await auth.authenticate({ headers: { authorization: 'Bearer rgk_wrong' }, socket }), { ok: false, reason: 'unknown caller key' },
    'a wrong key is not rescued by the certificate')
})

t.test('a certificate naming two callers is refused; a subject listed twice is a start-up error', async t => {
  const auth = createAuthenticator({ callers })
  t.same(await auth.authenticate({ headers: {}, socket: tlsSocket({ CN: 'checkout.prod.internal', san: 'DNS:reports.prod.internal' }) }),
    { ok: false, reason: 'client certificate names more than one caller' })
  t.throws(() => createAuthenticator({
    callers: [callerConfig({ name: 'a', mtlsSubjects: ['DNS:x'] }), callerConfig({ name: 'b', mtlsSubjects: ['DNS:x'] })]
  }), { code: 'ROUTEGATE_ERR_CONFIG', message: "callers[1].mtlsSubjects: 'DNS:x' already names caller 'a'" })
})

t.test('without mtlsSubjects the certificate is not looked at', async t => {
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'a', keySha256: [sha256Hex('k')] })] })
  let looked = false
  const socket: PeerSocket = { authorized: true, getPeerCertificate: () => { looked = true; return {} } }
  t.same(await auth.authenticate({ headers: {}, socket }), { ok: false, reason: 'missing caller credentials' })
  t.equal(looked, false)
})

t.test('subjectaltname is split like node does', async t => {
  t.same(splitAltNames('DNS:a, DNS:b'), ['DNS:a', 'DNS:b'])
  t.same(splitAltNames('URI:spiffe://x/y'), ['URI:spiffe://x/y'])
  t.same(splitAltNames('DNS:"a, b", URI:c'), ['DNS:a, b', 'URI:c'])
  t.same(splitAltNames('DNS:"a\\u002c b"'), ['DNS:a, b'])
  t.same(splitAltNames('DNS:ok, DNS:"unterminated'), ['DNS:ok'], 'bad quoting keeps nothing of that entry')
  t.same(peerNames({ authorized: true, getPeerCertificate: () => ({}) }), { cns: [], sans: [] })
})
