import t from 'tap'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { startStack, CALLER_KEY, OTHER_KEY, freePort } from '../helpers/stack.js'

t.test('gateway errors carry the contract status and error_code', async t => {
  const dead = await freePort()
  const s = await startStack(t, {
    config: (doc) => {
      doc.server.bodyLimitBytes = 1024
      doc.endpoints.push({ name: 'dead', workspace: 'emu', url: `http://127.0.0.1:${dead}/1/serving-endpoints/dead/invocations`, endpointId: doc.endpoints[0]!.endpointId as string })
      doc.endpoints.push({ name: 'slow', workspace: 'emu', url: doc.endpoints[1]!.url as string, endpointId: doc.endpoints[1]!.endpointId as string, timeoutMs: 300 })
    }
  })
  s.emu.faults.dataPlane({ endpoint: 'feed-ads', hang: true })
  const url = (name: string): string => `${s.gatewayUrl}/serving-endpoints/${name}/invocations`
  const post = async (name: string, headers: Record<string, string>, body: string | Readable = '{"inputs":[1]}') => {
    const res = await request(url(name), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
    return { status: res.statusCode, body: await res.body.json() as any, headers: res.headers }
  }
  const auth = { authorization: `Bearer ${CALLER_KEY}` }
  async function * chunks (): AsyncIterable<Buffer> {
    for (let i = 0; i < 8; i++) yield Buffer.alloc(256, 'a')
  }

  const rows: Array<[string, () => ReturnType<typeof post>, number, string]> = [
    ['no credentials', () => post('fraud-model', {}), 401, 'UNAUTHENTICATED'],
    ['unknown key', () => post('fraud-model', { authorization: 'Bearer not-a-key' }), 401, 'UNAUTHENTICATED'],
    ['basic auth instead of a key', () => post('fraud-model', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401, 'UNAUTHENTICATED'],
    ['caller not allowed on endpoint', () => post('fraud-model', { authorization: `Bearer ${OTHER_KEY}` }), 403, 'PERMISSION_DENIED'],
    ['unknown endpoint', () => post('no-such-model', auth), 404, 'ENDPOINT_NOT_FOUND'],
    ['unknown path', () => post('fraud-model/../../x', auth), 404, 'ENDPOINT_NOT_FOUND'],
    ['declared body over the limit', () => post('fraud-model', auth, 'x'.repeat(2000)), 413, 'PAYLOAD_TOO_LARGE'],
    ['chunked body over the limit', () => post('fraud-model', auth, Readable.from(chunks())), 413, 'PAYLOAD_TOO_LARGE'],
    ['connection refused', () => post('dead', auth), 502, 'UPSTREAM_UNAVAILABLE'],
    ['upstream too slow', () => post('slow', auth), 504, 'UPSTREAM_TIMEOUT']
  ]
  for (const [name, send, status, code] of rows) {
    const r = await send()
    t.equal(r.status, status, `${name}: status`)
    t.equal(r.body.error_code, code, `${name}: error_code`)
    t.type(r.body.message, 'string', `${name}: message`)
    t.equal(r.body.request_id, r.headers['x-request-id'], `${name}: request_id`)
  }
  const wrongMethod = await request(url('fraud-model'), { method: 'GET', headers: auth })
  t.equal(wrongMethod.statusCode, 405)
  t.equal(wrongMethod.headers.allow, 'POST')
  t.equal((await wrongMethod.body.json() as any).error_code, 'METHOD_NOT_ALLOWED')

  t.equal(s.emu.stats().invocations['fraud-model'], undefined, 'no rejected request reached the upstream')
  const ok = await s.invoke('fraud-model', { inputs: [2] })
  t.equal(ok.status, 200, 'still serving after the errors')
})

t.test('503 TOKEN_UNAVAILABLE when the token endpoint rejects the secret', async t => {
  const s = await startStack(t, { config: (doc) => { doc.workspaces[0]!.clientSecret = 'wrong-secret' } })
  const r = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(r.status, 503)
  t.equal(r.json().error_code, 'TOKEN_UNAVAILABLE')
  t.match(r.json().message, /invalid_client/)
  t.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After set')
  t.notMatch(r.text, 'wrong-secret')
  const again = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(again.status, 503)
  t.equal(s.emu.stats().tokenRequests, 1, 'the second request failed fast without another fetch')
})

t.test('upstream errors pass through unchanged; a revoked token is dropped and the request replayed once', async t => {
  const s = await startStack(t)
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 429, body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }, retryAfter: '3', times: 1 })
  const limited = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(limited.status, 429)
  t.same(limited.json(), { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' })
  t.equal(limited.headers['retry-after'], '3')

  s.emu.revoke({ endpoint: 'fraud-model' })
  const replayed = await s.invoke('fraud-model', { inputs: [1] })
  t.equal(replayed.status, 200, 'replayed with a fresh token')
  t.equal(s.emu.mintsFor('fraud-model'), 2)
  t.equal(s.emu.stats().invocations['fraud-model']?.['401'], 1, 'one 401, one replay')
  t.ok(s.logs.some(l => l.includes('"replayed":true')), 'the access log says so')
})
