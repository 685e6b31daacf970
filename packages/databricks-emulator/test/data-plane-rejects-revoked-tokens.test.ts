import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { inputs: [2] }

t.test('revoke({ endpoint }) kills that endpoint\'s tokens only; new mints work', async t => {
  const emu = await start(t)
  const fraud = await dataPlaneToken(emu, 'fraud-model')
  const ads = await dataPlaneToken(emu, 'feed-ads')

  t.equal(emu.revoke({ endpoint: 'fraud-model' }), 1)
  const res = await invoke(emu, 'fraud-model', BODY, fraud)
  t.equal(res.status, 401)
  t.same(res.body, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token. (token revoked)' })
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 200)
  t.equal((await invoke(emu, 'fraud-model', BODY, await dataPlaneToken(emu, 'fraud-model'))).status, 200)
  t.equal(emu.revoke({ endpoint: 'fraud-model' }), 1, 'already-revoked tokens are not counted again')
  t.throws(() => emu.revoke({ endpoint: 'nope' }), TypeError)
})

t.test('revoke() kills every token', async t => {
  const emu = await start(t)
  const fraud = await dataPlaneToken(emu, 'fraud-model')
  const ads = await dataPlaneToken(emu, 'feed-ads')
  t.equal(emu.revoke(), 2)
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 401)
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 401)
})
