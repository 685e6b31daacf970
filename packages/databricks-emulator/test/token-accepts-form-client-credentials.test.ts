import t from 'tap'
import { start, tokenRequest } from './helpers/client.js'

t.test('mints a token for client_id/client_secret sent as form fields (client_secret_post)', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis', client_id: p.clientId, client_secret: p.clientSecret })
  t.equal(res.status, 200)
  t.equal(res.body.token_type, 'Bearer')
  t.equal(emu.stats().mints.total, 1)
})

t.test('a stray Bearer header does not count as client auth; the form fields do', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis', client_id: p.clientId, client_secret: p.clientSecret },
    { authorization: 'Bearer whatever' })
  t.equal(res.status, 200)
})
