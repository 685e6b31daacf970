import t from 'tap'
import { exportSPKI, SignJWT } from 'jose'
import { createAuthenticator } from '../../src/callers/identity.js'
import { AUDIENCE, callerConfig, ISSUER, jwks, jwtConfig, serveJwks, sign, signingKey, signRaw } from './helpers/idp.js'

t.test('each way a token can be wrong is refused with its own reason, never echoing the token', async t => {
  const key = await signingKey('RS256', 'k1')
  const impostor = await signingKey('RS256', 'k1')
  const stranger = await signingKey('ES256', 'k9')
  const idp = await serveJwks(t, () => jwks(key))
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: idp.url, clockToleranceSeconds: 30 }) })
  t.teardown(() => auth.close())
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const claims = { sub: 'checkout', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 }

  const cases: Array<[string, string]> = [
    ['expired', await sign(key, { sub: 'checkout', iat: now - 3600, exp: now - 60 })],
    ['wrong audience', await sign(key, { sub: 'checkout', aud: 'someone-else' })],
    ['wrong issuer', await sign(key, { sub: 'checkout', iss: 'https://evil.test' })],
    ['not yet valid', await sign(key, { sub: 'checkout', nbf: now + 3600 })],
    ['no exp', await sign(key, { sub: 'checkout', exp: null })],
    ['signed by another key (same kid)', await sign(impostor, { sub: 'checkout' })],
    ['signed by an unknown key', await sign(stranger, { sub: 'checkout' })],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
    ['HS256 keyed with the public key', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(await exportSPKI(key.publicKey)))],
    ['odd alg', `${b64({ alg: 'RS256 ', kid: 'k1' })}.${b64(claims)}.c2ln`],
    ['unknown subject', await sign(key, { sub: 'mallory' })],
    ['no subject', await sign(key, {})],
    ['garbage payload', await signRaw(key, 'not json')],
    ['forged payload', `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ ...claims, sub: 'admin' })}.c2ln`],
    ['exp of the wrong type', await signRaw(key, JSON.stringify({ ...claims, exp: 'never' }))]
  ]
  const reasons: Record<string, string> = {}
  for (const [name, token] of cases) {
    const r = await auth.authenticate({ headers: { authorization: `Bearer ${token}` } })
    t.equal(r.ok, false, name)
    if (r.ok) continue
    reasons[name] = r.reason
    t.notOk(r.reason.includes(token.split('.')[2] || token.split('.')[1]!), `${name}: reason holds no token part`)
    t.equal(r.unavailable, undefined, `${name}: the caller's fault`)
  }
  t.same(reasons, {
    expired: 'token expired',
    'wrong audience': 'token audience not accepted',
    'wrong issuer': 'token issuer not accepted',
    'not yet valid': 'token not yet valid',
    'no exp': "token has no 'exp' claim",
    'signed by another key (same kid)': 'token signature invalid',
    'signed by an unknown key': 'token signed by an unknown key',
    'alg none': "token algorithm 'none' not allowed",
    'HS256 keyed with the public key': "token algorithm 'HS256' not allowed",
    'odd alg': "token algorithm '?' not allowed",
    'unknown subject': "token subject 'mallory' is not a configured caller",
    'no subject': "token has no 'sub' claim",
    'garbage payload': 'token malformed',
    'forged payload': 'token signature invalid',
    'exp of the wrong type': "token claim 'exp' invalid"
  })
})

t.test('clock tolerance and the injected clock decide expiry', async t => {
  const key = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(key))
  let clock = Date.now()
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: idp.url, clockToleranceSeconds: 30 }), now: () => clock })
  const exp = Math.floor(clock / 1000) + 60
  const token = await sign(key, { sub: 'checkout', exp })
  const headers = { authorization: `Bearer ${token}` }
  t.equal((await auth.authenticate({ headers })).ok, true)
  clock = (exp + 20) * 1000
  t.equal((await auth.authenticate({ headers })).ok, true, 'within tolerance')
  clock = (exp + 31) * 1000
  t.same(await auth.authenticate({ headers }), { ok: false, reason: 'token expired' })
})

t.test('odd subject values are not echoed', async t => {
  const key = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(key))
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: idp.url }) })
  const token = await sign(key, { sub: 'has space\nand newline' })
  t.same(await auth.authenticate({ headers: { authorization: `Bearer ${token}` } }), { ok: false, reason: 'token subject is not a configured caller' })
})
