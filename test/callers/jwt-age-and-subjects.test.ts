import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig, jwks, jwtConfig, serveJwks, sign, signingKey } from './helpers/idp.js'

t.test('token age is measured from iat: too old, from the future, or without iat is refused', async t => {
  const key = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(key))
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'svc' })], jwt: jwtConfig({ jwksUrl: idp.url, maxTokenAgeSeconds: 3600 }) })
  t.teardown(() => auth.close())
  const now = Math.floor(Date.now() / 1000)
  const check = async (opts: Parameters<typeof sign>[1]) => await auth.authenticate({ headers: { authorization: `Bearer ${await sign(key, { sub: 'svc', ...opts })}` } })
  t.match(await check({}), { ok: true }, 'a fresh token')
  t.match(await check({ iat: now - 3500, exp: now + 600 }), { ok: true }, 'within maxTokenAgeSeconds')
  t.match(await check({ iat: now - 7200, exp: now + 100 * 365 * 24 * 3600 }), { ok: false }, 'issued two hours ago, valid for a century: too old')
  t.match(await check({ iat: now + 600, exp: now + 1200 }), { ok: false }, 'issued in the future beyond the clock tolerance')
  t.match(await check({ iat: now + 10, exp: now + 600 }), { ok: true }, 'within the clock tolerance')
})

t.test('a caller\'s name is a JWT subject only when it has no other identity and no jwtSubjects', async t => {
  const key = await signingKey('ES256')
  const idp = await serveJwks(t, () => jwks(key))
  const auth = createAuthenticator({
    callers: [
      callerConfig({ name: 'jwt-only' }),
      callerConfig({ name: 'key-only', keySha256: ['a'.repeat(64)] }),
      callerConfig({ name: 'aliased', jwtSubjects: ['spiffe://prod/aliased'] })
    ],
    jwt: jwtConfig({ jwksUrl: idp.url })
  })
  t.teardown(() => auth.close())
  const as = async (sub: string) => await auth.authenticate({ headers: { authorization: `Bearer ${await sign(key, { sub })}` } })
  t.match(await as('jwt-only'), { ok: true, caller: { name: 'jwt-only' } })
  t.match(await as('key-only'), { ok: false }, 'a key-only caller cannot be claimed by a token')
  t.match(await as('aliased'), { ok: false }, 'with jwtSubjects, the name alone does not do')
  t.match(await as('spiffe://prod/aliased'), { ok: true, caller: { name: 'aliased' } })
})
