import t from 'tap'
import { basic, start, tokenRequest } from './helpers/client.js'

t.test('client_credentials without the all-apis scope is invalid_scope', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  const auth = { authorization: basic(p.clientId, p.clientSecret) }
  for (const form of [{ grant_type: 'client_credentials' }, { grant_type: 'client_credentials', scope: 'sql offline_access' }] as Array<Record<string, string>>) {
    const res = await tokenRequest(emu, form, auth)
    t.equal(res.status, 400)
    t.same(res.body, { error: 'invalid_scope', error_description: 'scope must include all-apis' })
  }
  const ok = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'offline_access all-apis' }, auth)
  t.equal(ok.status, 200)
})
