import t from 'tap'
import { get, start } from './helpers/client.js'

t.test('serves workspace OIDC metadata and host metadata pointing back at the listener', async t => {
  const emu = await start(t, { workspaceId: '1444828305810485' })
  const oidc = await get(emu, '/oidc/.well-known/oauth-authorization-server')
  t.equal(oidc.status, 200)
  t.same(oidc.body, {
    issuer: `${emu.url}/oidc`,
    authorization_endpoint: `${emu.url}/oidc/v1/authorize`,
    token_endpoint: `${emu.url}/oidc/v1/token`
  })
  const config = await get(emu, '/.well-known/databricks-config')
  t.equal(config.status, 200)
  t.same(config.body, { oidc_endpoint: `${emu.url}/oidc`, workspace_id: '1444828305810485', cloud: 'AWS' })
})

t.test('absolute URLs follow the request Host', async t => {
  const emu = await start(t)
  const res = await emu.app.inject({ url: '/oidc/.well-known/oauth-authorization-server', headers: { host: 'dbc-1234.cloud.databricks.test' } })
  t.equal(res.json().token_endpoint, 'http://dbc-1234.cloud.databricks.test/oidc/v1/token')
})
