import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig, jwks, jwtConfig, serveJwks, sign, signingKey } from './helpers/idp.js'

t.test('a JWKS whose keys have no kid: each key fitting the alg is tried', async t => {
  const a = await signingKey('ES256', undefined)
  const b = await signingKey('ES256', undefined)
  const other = await signingKey('ES256', undefined)
  const idp = await serveJwks(t, () => jwks(a, b))
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: idp.url }) })
  for (const key of [a, b]) {
    t.match(await auth.authenticate({ headers: { authorization: `Bearer ${await sign(key, { sub: 'checkout' })}` } }), { ok: true, via: 'jwt' })
  }
  t.same(await auth.authenticate({ headers: { authorization: `Bearer ${await sign(other, { sub: 'checkout' })}` } }),
    { ok: false, reason: 'token signature invalid' })
  t.same(await auth.authenticate({ headers: { authorization: `Bearer ${await sign(b, { sub: 'checkout', aud: 'x' })}` } }),
    { ok: false, reason: 'token audience not accepted' }, 'claims still checked after the right key is found')
})
