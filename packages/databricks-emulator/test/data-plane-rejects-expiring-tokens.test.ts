import t from 'tap'
import { clock, dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { instances: [1] }

t.test('expired tokens and tokens within min(30 s, TTL/20) of expiry are UNAUTHENTICATED', async t => {
  const c = clock()
  const emu = await start(t, { now: c.now, tokenTtlSeconds: 3600 })
  const token = await dataPlaneToken(emu, 'fraud-model')

  c.advance(3600_000 - 30_001)
  t.equal((await invoke(emu, 'fraud-model', BODY, token)).status, 200, 'just outside the 30 s window')
  c.advance(1)
  const soon = await invoke(emu, 'fraud-model', BODY, token)
  t.equal(soon.status, 401)
  t.same(soon.body, { error_code: 'UNAUTHENTICATED', message: 'Token is expiring within 30 seconds. (token expired)' })
  c.advance(30_000)
  const expired = await invoke(emu, 'fraud-model', BODY, token)
  t.equal(expired.status, 401)
  t.same(expired.body, { error_code: 'UNAUTHENTICATED', message: 'Token is expired. (token expired)' })
})

t.test('short-lived tokens get a proportionally short window (4 s token → 200 ms)', async t => {
  const c = clock()
  const emu = await start(t, { now: c.now, tokenTtlSeconds: 4 })
  const token = await dataPlaneToken(emu, 'fraud-model')
  c.advance(3_700)
  t.equal((await invoke(emu, 'fraud-model', BODY, token)).status, 200)
  c.advance(100)
  const res = await invoke(emu, 'fraud-model', BODY, token)
  t.equal(res.status, 401)
  t.same(res.body, { error_code: 'UNAUTHENTICATED', message: 'Token is expiring within 0.2 seconds. (token expired)' })
})
