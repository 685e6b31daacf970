import t from 'tap'
import { basic, controlPlaneToken, dataPlaneToken, get, invoke, start, tokenRequest } from './helpers/client.js'

t.test('counts token requests, mints by scope and grant, invocations by status and control-plane calls', async t => {
  const emu = await start(t)
  const fraudId = emu.endpoints['fraud-model']!.id
  const cp = await controlPlaneToken(emu)
  const token = await dataPlaneToken(emu, 'fraud-model')
  await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis' }, { authorization: basic('x', 'y') })
  await get(emu, '/api/2.0/serving-endpoints/fraud-model', cp)
  await get(emu, '/api/2.0/serving-endpoints/nope', cp)
  await invoke(emu, 'fraud-model', { inputs: [1] }, token, { 'x-trace': 'abc' })
  await invoke(emu, 'fraud-model', { inputs: [1] }, undefined)

  const stats = emu.stats()
  t.equal(stats.tokenRequests, 3)
  t.same(stats.mints, {
    total: 2,
    byScope: { workspace: 1, [`${fraudId}:query_inference_endpoint`]: 1 },
    byGrant: { client_credentials: 2, 'jwt-bearer': 0 }
  })
  t.equal(stats.controlPlaneRequests, 2)
  t.same(stats.invocations, { 'fraud-model': { 200: 1, 401: 1 } })
  t.same(stats.workspaceInvocations, {})
  t.equal(stats.invocationHeaders.length, 2)
  t.equal(stats.invocationHeaders[0]!['x-trace'], 'abc')
  t.equal(stats.invocationHeaders[0]!.authorization, `Bearer ${token}`)
  t.match(stats.lastInvocation, { endpoint: 'fraud-model', via: 'data-plane', body: '{"inputs":[1]}', tokenScope: [] })
  t.equal(stats.lastInvocation?.headers.authorization, undefined)
  t.equal(emu.mintsFor('fraud-model'), 1)
})

t.test('lastInvocation carries the raw body, the headers as received and the token scope', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  await invoke(emu, 'feed-ads', '{ "inputs": [1, 2] }', token, { 'x-forwarded-for': '10.0.0.1' })
  const last = emu.stats().lastInvocation
  t.equal(last?.body, '{ "inputs": [1, 2] }')
  t.equal(last?.headers['x-forwarded-for'], '10.0.0.1')
  t.equal(last?.headers['content-type'], 'application/json')
  t.same(last?.tokenScope, [`${emu.endpoints['feed-ads']!.id}:query_inference_endpoint`])
})

t.test('stats() returns a fresh copy, and the header ring keeps the last 200', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  const first = emu.stats()
  first.tokenRequests = 99
  t.equal(emu.stats().tokenRequests, 1)

  for (let i = 0; i < 205; i++) await invoke(emu, 'feed-ads', { inputs: [i] }, token, { 'x-n': String(i) })
  const stats = emu.stats()
  t.equal(stats.invocationHeaders.length, 200)
  t.equal(stats.invocationHeaders[0]!['x-n'], '5')
  t.equal(stats.invocationHeaders[199]!['x-n'], '204')
  t.same(stats.invocations['feed-ads'], { 200: 205 })
})
