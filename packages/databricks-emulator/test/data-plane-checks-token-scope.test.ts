import t from 'tap'
import { controlPlaneToken, dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { inputs: [1] }

t.test('401 without a usable token, 403 for a token not scoped to this endpoint', async t => {
  const emu = await start(t)
  const forFraud = await dataPlaneToken(emu, 'fraud-model')

  const missing = await invoke(emu, 'fraud-model', BODY, undefined)
  t.equal(missing.status, 401)
  t.same(missing.body, { error_code: 'UNAUTHENTICATED', message: 'Credential was not sent or was of an unsupported type for this API.' })

  const basicAuth = await invoke(emu, 'fraud-model', BODY, undefined, { authorization: 'Basic eDp5' })
  t.equal(basicAuth.status, 401)

  const unknown = await invoke(emu, 'fraud-model', BODY, 'eyJ.not.ours')
  t.equal(unknown.status, 401)
  t.same(unknown.body, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' })

  const unscoped = await invoke(emu, 'fraud-model', BODY, await controlPlaneToken(emu))
  t.equal(unscoped.status, 403)
  t.same(unscoped.body, {
    error_code: 'PERMISSION_DENIED',
    message: `The token is not authorized to query serving endpoint 'fraud-model' (needs query_inference_endpoint on /serving-endpoints/${emu.endpoints['fraud-model']!.id}).`
  })

  const otherEndpoint = await invoke(emu, 'feed-ads', BODY, forFraud)
  t.equal(otherEndpoint.status, 403)
  t.equal(otherEndpoint.body.error_code, 'PERMISSION_DENIED')

  const ok = await invoke(emu, 'fraud-model', BODY, forFraud)
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('served-model-name'), 'fraud-model-1')
  t.match(ok.headers.get('x-request-id'), /^[0-9a-f-]{36}$/)

  const manage = await invoke(emu, 'feed-ads', BODY, await dataPlaneToken(emu, 'feed-ads', 0, ['manage_inference_endpoint']))
  t.equal(manage.status, 200, 'a manage-scoped token may query')

  t.same(emu.stats().invocations, { 'fraud-model': { 401: 3, 403: 1, 200: 1 }, 'feed-ads': { 403: 1, 200: 1 } })
})

t.test('wrong workspace id, unknown name and non-route-optimized endpoints are RESOURCE_DOES_NOT_EXIST', async t => {
  const emu = await start(t, { endpoints: [{ name: 'ro' }, { name: 'legacy', routeOptimized: false }] })
  const token = await dataPlaneToken(emu, 'ro')
  const post = (path: string) => fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{"inputs":[1]}'
  })
  const wrongWs = await post('/1234567890123456/serving-endpoints/ro/invocations')
  t.equal(wrongWs.status, 404)
  t.same(await wrongWs.json(), { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Endpoint with name 'ro' does not exist." })
  for (const name of ['nope', 'legacy', '__proto__']) {
    const res = await post(`/${emu.workspaceId}/serving-endpoints/${name}/invocations`)
    t.equal(res.status, 404, name)
    t.same(await res.json(), { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `Endpoint with name '${name}' does not exist.` }, name)
  }
  t.equal(Object.getOwnPropertyDescriptor(emu.stats().invocations, '__proto__')?.value[404], 1, 'URL-supplied names are plain keys')
})

t.test('a not-ready endpoint answers 503 TEMPORARILY_UNAVAILABLE until it is ready', async t => {
  const emu = await start(t, { endpoints: [{ name: 'warming', ready: false }] })
  const token = await dataPlaneToken(emu, 'warming')
  const res = await invoke(emu, 'warming', BODY, token)
  t.equal(res.status, 503)
  t.same(res.body, { error_code: 'TEMPORARILY_UNAVAILABLE', message: "Endpoint 'warming' is not ready." })
  emu.endpoints.warming!.ready = true
  t.equal((await invoke(emu, 'warming', BODY, token)).status, 200)
})
