import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig, jwks, jwtConfig, serveJwks, sign, signingKey } from './helpers/idp.js'

t.test('a valid RS256 or ES256 token names its caller; the JWKS is fetched once', async t => {
  const rsa = await signingKey('RS256')
  const ec = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(rsa, ec))
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout', jwtSubjects: ['spiffe://prod/checkout'] }), callerConfig({ name: 'reports' })],
    jwt: jwtConfig({ jwksUrl: idp.url })
  })
  t.teardown(() => auth.close())

  const byName = await sign(rsa, { sub: 'reports' })
  const bySubject = await sign(ec, { sub: 'spiffe://prod/checkout' })
  // Concurrent first verifications share one fetch; later ones use the cache.
  const first = await Promise.all(Array.from({ length: 20 }, (_, i) => auth.authenticate({ headers: { authorization: `Bearer ${i % 2 === 0 ? byName : bySubject}` } })))
  for (let i = 0; i < 50; i++) await auth.authenticate({ headers: { authorization: `Bearer ${byName}` } })
  t.match(first[0], { ok: true, via: 'jwt', caller: { name: 'reports' } })
  t.match(first[1], { ok: true, via: 'jwt', caller: { name: 'checkout' } })
  t.ok(first.every(r => r.ok))
  t.equal(idp.state.hits, 1, 'JWKS fetched once')
})

t.test('callerClaim picks another claim than sub', async t => {
  const key = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(key))
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout', jwtSubjects: ['app-123'] })],
    jwt: jwtConfig({ jwksUrl: idp.url, callerClaim: 'client_id' })
  })
  const ok = await sign(key, { sub: 'someone', claims: { client_id: 'app-123' } })
  t.match(await auth.authenticate({ headers: { authorization: `Bearer ${ok}` } }), { ok: true, caller: { name: 'checkout' } })
  const missing = await sign(key, { sub: 'checkout' })
  t.same(await auth.authenticate({ headers: { authorization: `Bearer ${missing}` } }), { ok: false, reason: "token has no 'client_id' claim" })
  const numeric = await sign(key, { claims: { client_id: 123 } })
  t.same(await auth.authenticate({ headers: { authorization: `Bearer ${numeric}` } }), { ok: false, reason: "token has no 'client_id' claim" })
})

t.test('a subject naming two callers is a start-up error', async t => {
  t.throws(() => createAuthenticator({
    callers: [callerConfig({ name: 'a', jwtSubjects: ['shared'] }), callerConfig({ name: 'b', jwtSubjects: ['shared'] })],
    jwt: jwtConfig({ jwksUrl: 'http://127.0.0.1:9/jwks' })
  }), { code: 'ROUTEGATE_ERR_CONFIG', message: "callers[1].jwtSubjects: 'shared' already names caller 'a'" })
  // Without auth.jwt, jwtSubjects mean nothing and are not checked.
  t.doesNotThrow(() => createAuthenticator({ callers: [callerConfig({ name: 'a', jwtSubjects: ['b'] }), callerConfig({ name: 'b' })] }))
})

t.test('auth.jwt needs exactly one key source', async t => {
  for (const jwt of [jwtConfig(), jwtConfig({ jwksUrl: 'http://127.0.0.1:9/jwks', jwksFile: '/keys.json' })]) {
    t.throws(() => createAuthenticator({ callers: [callerConfig({ name: 'a' })], jwt }),
      { code: 'ROUTEGATE_ERR_CONFIG', message: 'auth.jwt: needs exactly one of jwksUrl or jwksFile' })
  }
})
