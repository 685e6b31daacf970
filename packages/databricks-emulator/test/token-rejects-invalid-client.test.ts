import t from 'tap'
import { basic, start, tokenRequest } from './helpers/client.js'

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed' }

t.test('answers 401 invalid_client, always as JSON with an error field', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  const form = { grant_type: 'client_credentials', scope: 'all-apis' }
  const cases: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['unknown client id', form, { authorization: basic('nobody', p.clientSecret) }],
    ['wrong secret', form, { authorization: basic(p.clientId, 'wrong') }],
    ['secret of different length', form, { authorization: basic(p.clientId, p.clientSecret + 'x') }],
    ['no credentials at all', form, {}],
    ['Basic without a colon', form, { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }],
    ['Basic half with a broken percent-escape', form, { authorization: `Basic ${Buffer.from(`${p.clientId}:%E0%A4%A`).toString('base64')}` }],
    ['form fields with a wrong secret', { ...form, client_id: p.clientId, client_secret: 'nope' }, {}],
    ['form with only client_id', { ...form, client_id: p.clientId }, {}]
  ]
  for (const [name, f, headers] of cases) {
    const res = await tokenRequest(emu, f, headers)
    t.equal(res.status, 401, name)
    t.match(res.headers.get('content-type'), /^application\/json/, name)
    t.same(res.body, INVALID_CLIENT, name)
  }
  t.equal(emu.stats().tokenRequests, cases.length)
  t.equal(emu.stats().mints.total, 0)
})
