import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig, jwks, jwtConfig, serveJwks, sign, signingKey } from './helpers/idp.js'

const unavailable = { ok: false, reason: 'identity provider keys unavailable', unavailable: true }

t.test('an IdP answering an error, or not at all, makes JWT auth unavailable (503), not a 401', async t => {
  const key = await signingKey('RS256')
  const idp = await serveJwks(t, () => jwks(key))
  idp.state.status = 500
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: idp.url }) })
  const headers = { authorization: `Bearer ${await sign(key, { sub: 'checkout' })}` }
  t.same(await auth.authenticate({ headers }), unavailable)
  idp.state.status = 200
  t.match(await auth.authenticate({ headers }), { ok: true }, 'recovers on the next request')
})

t.test('a refused connection and a hung IdP (timeout) are unavailable too', async t => {
  const key = await signingKey('ES256')
  const headers = { authorization: `Bearer ${await sign(key, { sub: 'checkout' })}` }
  const closed = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: 'http://127.0.0.1:1/jwks.json' }) })
  t.same(await closed.authenticate({ headers }), unavailable)

  const hung = createServer(() => {})
  await new Promise<void>(resolve => hung.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { hung.closeAllConnections(); hung.close() })
  const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/jwks.json`
  const slow = createAuthenticator({ callers: [callerConfig({ name: 'checkout' })], jwt: jwtConfig({ jwksUrl: url }), jwksTimeoutMs: 100 })
  const started = Date.now()
  t.same(await slow.authenticate({ headers }), unavailable)
  t.ok(Date.now() - started < 2000, 'bounded by jwksTimeoutMs')
})

t.test('an injected fetch is used for the JWKS', async t => {
  const key = await signingKey('ES256')
  const urls: string[] = []
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout' })],
    jwt: jwtConfig({ jwksUrl: 'https://idp.invalid/jwks.json' }),
    fetch: async (url) => { urls.push(url); return Response.json(jwks(key)) }
  })
  t.match(await auth.authenticate({ headers: { authorization: `Bearer ${await sign(key, { sub: 'checkout' })}` } }), { ok: true })
  t.same(urls, ['https://idp.invalid/jwks.json'])
})
