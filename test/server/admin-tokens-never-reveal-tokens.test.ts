// The admin API's /tokens: each endpoint's scope, action, state and expiry as the gateway holds
// them, read-only (no mint, no discovery), and never the token itself. The admin app is asked
// through fastify's inject (no socket: these are status and body checks); the gateway calls go
// over the socket, through the fast path.
import t from 'tap'
import { startStack } from '../helpers/stack.js'

t.test('GET /tokens and /tokens/{endpoint} give scope, action, state and expiry, never the token', async t => {
  const s = await startStack(t)
  t.equal((await s.invoke('fraud-model')).status, 200)
  const route = s.rg.registry.peek('fraud-model')
  if (route === undefined) throw new Error('no route')
  const held = await s.rg.broker.get(route.token)
  const mints = s.emu.mintsFor('fraud-model')

  const one = await s.rg.admin.inject({ url: '/tokens/fraud-model' })
  t.equal(one.statusCode, 200)
  const text = one.body
  t.notMatch(text, held, 'the token is not in the answer')
  t.notMatch(text, held.split('.')[2] ?? held, 'nor its signature')
  const body = JSON.parse(text)
  const id = s.emu.endpoints['fraud-model']?.id
  t.match(body, {
    endpoint: 'fraud-model',
    workspace: 'emu',
    endpointId: id,
    action: 'query_inference_endpoint',
    discovered: false,
    scope: [{ type: 'workspace_permission', objectType: 'serving-endpoints', objectPath: `/serving-endpoints/${id}`, actions: ['query_inference_endpoint'] }],
    state: 'valid'
  })
  t.ok(Date.parse(body.expiresAt) > Date.now(), 'expiry in the future')
  t.same(Object.keys(body).filter(k => /token/i.test(k)), [], 'no field that could hold a token')

  const all = await s.rg.admin.inject({ url: '/tokens' })
  const allText = all.body
  t.notMatch(allText, held)
  const list = JSON.parse(allText).endpoints as Array<{ endpoint: string, state: string }>
  t.same(list.map(e => [e.endpoint, e.state]), [['fraud-model', 'valid'], ['feed-ads', 'none']], 'an endpoint never called holds no token')
  t.equal(s.emu.mintsFor('fraud-model'), mints, 'reading mints nothing')
  t.equal(s.emu.mintsFor('feed-ads'), 0, 'nor for an endpoint without a token')

  const missing = await s.rg.admin.inject({ url: '/tokens/nope' })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { error_code: 'ENDPOINT_NOT_FOUND', message: "no endpoint 'nope' in the running config" })
})

t.test('an endpoint left to discovery reports no id until it is looked up', async t => {
  const s = await startStack(t, { config: (doc) => { doc.endpoints = [{ name: 'fraud-model', workspace: 'emu' }, { name: 'feed-ads', workspace: 'emu' }] } })
  let body = (await s.rg.admin.inject({ url: '/tokens/fraud-model' })).json<Record<string, unknown>>()
  t.match(body, { endpoint: 'fraud-model', workspace: 'emu', discovered: true, state: 'none', scope: [] })
  t.notOk('endpointId' in body)
  t.equal((await s.invoke('fraud-model')).status, 200)
  body = (await s.rg.admin.inject({ url: '/tokens/fraud-model' })).json<Record<string, unknown>>()
  t.match(body, { discovered: true, state: 'valid', endpointId: s.emu.endpoints['fraud-model']?.id })
})
