import t from 'tap'
import { JWT_BEARER, controlPlaneToken, get, invoke, start, tokenRequest } from './helpers/client.js'

t.test('exchanges a control-plane token for a scoped data-plane token, with or without a stray Authorization header', async t => {
  const emu = await start(t, { tokenTtlSeconds: 3600, dataPlaneTokenTtlSeconds: 600 })
  const cp = await controlPlaneToken(emu)
  const info = (await get(emu, '/api/2.0/serving-endpoints/fraud-model', cp)).body
  const form = { grant_type: JWT_BEARER, assertion: cp, authorization_details: info.data_plane_info.query_info.authorization_details }

  // py/sdk-go-v2 send no client auth; the legacy go SDK also sends `Authorization: Bearer <cp>`.
  for (const headers of [{}, { authorization: `Bearer ${cp}` }] as Array<Record<string, string>>) {
    const res = await tokenRequest(emu, form, headers)
    t.equal(res.status, 200)
    t.equal(res.body.token_type, 'Bearer')
    t.equal(res.body.expires_in, 600)
    t.equal(res.body.scope, 'all-apis')
    t.same(res.body.authorization_details, JSON.parse(info.data_plane_info.query_info.authorization_details))
    const call = await invoke(emu, 'fraud-model', { inputs: [[1, 2]] }, res.body.access_token)
    t.equal(call.status, 200)
    t.same(call.body, { predictions: [3] })
  }
  const stats = emu.stats()
  t.same(stats.mints.byGrant, { client_credentials: 1, 'jwt-bearer': 2 })
  t.equal(emu.mintsFor('fraud-model'), 2)
})

t.test('the exchanged token is checked against the assertion principal\'s grants', async t => {
  const emu = await start(t, {
    principals: [{ clientId: 'p', clientSecret: 's', permissions: [{ endpoint: 'fraud-model', actions: ['query_inference_endpoint'] }] }]
  })
  const cp = await controlPlaneToken(emu)
  const res = await tokenRequest(emu, {
    grant_type: JWT_BEARER,
    assertion: cp,
    authorization_details: JSON.stringify([{ type: 'workspace_permission', object_type: 'serving-endpoints', object_path: `/serving-endpoints/${emu.endpoints['feed-ads']!.id}`, actions: ['query_inference_endpoint'] }])
  })
  t.equal(res.status, 400)
  t.same(res.body, { error: 'invalid_authorization_details', error_description: 'User is not authorized to the requested authorizations' })
})
