import t from 'tap'
import { basic, start, tokenRequest } from './helpers/client.js'

t.test('mints a control-plane token for HTTP Basic client auth, URL-decoding both halves', async t => {
  // sdk-js form-encodes id and secret before base64 (README, Token endpoint), so ':', '+', '%' and spaces must survive.
  const clientId = 'sp:one two'
  const clientSecret = 'dose+a/b%c:d e'
  const emu = await start(t, { principals: [{ clientId, clientSecret, permissions: [] }] })

  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis' }, { authorization: basic(clientId, clientSecret) })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.same(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.equal(res.body.token_type, 'Bearer')
  t.equal(res.body.expires_in, 3600)
  t.equal(res.body.scope, 'all-apis')
  t.match(res.body.access_token, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/)

  const payload = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString())
  t.equal(payload.sub, clientId)
  t.equal(payload.aud, emu.workspaceId)
  t.equal(payload.iss, `${emu.url}/oidc`)
  t.equal(payload.exp - payload.iat, 3600)
  t.notOk('authorization_details' in payload)
})

t.test('a plain (not URL-encoded) Basic header still works for simple credentials', async t => {
  const emu = await start(t, { principals: [{ clientId: 'abc-123', clientSecret: 'dose0123', permissions: [] }] })
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis' },
    { authorization: `Basic ${Buffer.from('abc-123:dose0123').toString('base64')}` })
  t.equal(res.status, 200)
})

t.test('honours tokenTtlSeconds in expires_in', async t => {
  const emu = await start(t, { tokenTtlSeconds: 120 })
  const p = emu.principals[0]!
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis offline_access' }, { authorization: basic(p.clientId, p.clientSecret) })
  t.equal(res.status, 200)
  t.equal(res.body.expires_in, 120)
})
