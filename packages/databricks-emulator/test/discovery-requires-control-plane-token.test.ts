import t from 'tap'
import { clock, controlPlaneToken, dataPlaneToken, get, start } from './helpers/client.js'

t.test('missing, unknown, revoked and expired tokens are UNAUTHENTICATED', async t => {
  const c = clock()
  const emu = await start(t, { now: c.now, tokenTtlSeconds: 600 })
  const path = '/api/2.0/serving-endpoints/fraud-model'

  const missing = await get(emu, path)
  t.equal(missing.status, 401)
  t.same(missing.body, { error_code: 'UNAUTHENTICATED', message: 'Credential was not sent or was of an unsupported type for this API.' })

  const unknown = await get(emu, path, 'dapi0123')
  t.equal(unknown.status, 401)
  t.same(unknown.body, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' })

  const revoked = await controlPlaneToken(emu)
  emu.revoke()
  t.same((await get(emu, path, revoked)).body, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token. (token revoked)' })

  const expired = await controlPlaneToken(emu)
  c.advance(600_000)
  const res = await get(emu, path, expired)
  t.equal(res.status, 401)
  t.same(res.body, { error_code: 'UNAUTHENTICATED', message: 'Token is expired. (token expired)' })
})

t.test('a token in its last 30 s gets the documented 403 "expiring within 30 seconds"', async t => {
  const c = clock()
  const emu = await start(t, { now: c.now })
  const cp = await controlPlaneToken(emu)
  c.advance(3600_000 - 30_000)
  const res = await get(emu, '/api/2.0/serving-endpoints/fraud-model', cp)
  t.equal(res.status, 403)
  t.same(res.body, { error_code: 'PERMISSION_DENIED', message: 'Token is expiring within 30 seconds. (token expired)' })
})

t.test('a scoped data-plane token cannot call workspace APIs', async t => {
  const emu = await start(t)
  const res = await get(emu, '/api/2.0/serving-endpoints/fraud-model', await dataPlaneToken(emu, 'fraud-model'))
  t.equal(res.status, 403)
  t.same(res.body, { error_code: 'PERMISSION_DENIED', message: 'A token scoped by authorization_details cannot call workspace APIs.' })
  t.equal((await get(emu, '/api/2.0/serving-endpoints', await dataPlaneToken(emu, 'fraud-model'))).status, 403)
})
