import t from 'tap'
import { start, tokenRequest } from './helpers/client.js'

t.test('missing or unsupported grant types', async t => {
  const emu = await start(t)
  const missing = await tokenRequest(emu, { scope: 'all-apis' })
  t.equal(missing.status, 400)
  t.same(missing.body, { error: 'invalid_request', error_description: 'Missing grant_type' })

  const code = await tokenRequest(emu, { grant_type: 'authorization_code', code: 'x' })
  t.equal(code.status, 400)
  t.same(code.body, { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type authorization_code' })
})

t.test('a repeated parameter is invalid_request (RFC 6749 §3.2)', async t => {
  const emu = await start(t)
  const res = await fetch(`${emu.url}/oidc/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=all-apis&scope=sql'
  })
  t.equal(res.status, 400)
  t.same(await res.json(), { error: 'invalid_request', error_description: 'Parameter scope is repeated' })
})

t.test('a body that is not form-urlencoded gets an OAuth error, not a fastify 415', async t => {
  const emu = await start(t)
  for (const [type, body] of [['application/json', '{"grant_type":"client_credentials"}'], ['text/plain', 'x']] as const) {
    const res = await fetch(`${emu.url}/oidc/v1/token`, { method: 'POST', headers: { 'content-type': type }, body })
    t.equal(res.status, 400, type)
    t.same(await res.json(), { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' }, type)
  }
  const empty = await fetch(`${emu.url}/oidc/v1/token`, { method: 'POST' })
  t.equal(empty.status, 400)
  t.same(await empty.json(), { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' })
})

t.test('an oversized form is an OAuth-shaped error', async t => {
  const emu = await start(t)
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', padding: 'x'.repeat(1024 * 1024 + 1) })
  t.equal(res.status, 413)
  t.equal(res.body.error, 'invalid_request')
  t.type(res.body.error_description, 'string')
})

t.test('other methods on the token endpoint answer 405 with an OAuth error', async t => {
  const emu = await start(t)
  const res = await fetch(`${emu.url}/oidc/v1/token`)
  t.equal(res.status, 405)
  t.equal(res.headers.get('allow'), 'POST')
  t.same(await res.json(), { error: 'invalid_request', error_description: 'The token endpoint accepts POST only' })
})
