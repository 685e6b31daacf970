// The OpenAI-compatible routes' refusals, one per case of the contract's list: each answered by
// the gateway itself in both error shapes, and nothing reaching the endpoint.
import t from 'tap'
import { Readable } from 'node:stream'
import { request as httpRequest } from 'node:http'
import { request } from 'undici'
import { startStack, CALLER_KEY, OTHER_KEY, type Stack } from '../helpers/stack.js'

interface Case {
  name: string
  path?: string
  method?: string
  headers?: Record<string, string>
  body?: string
  status: number
  code: string
  type: string
  message?: RegExp
}

const chat = (fields: Record<string, unknown>): string => JSON.stringify({ messages: [{ role: 'user', content: 'x' }], ...fields })

const cases: Case[] = [
  { name: 'body is not JSON', body: '{"model": "fraud-model",', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /not valid JSON/ },
  { name: 'body is a JSON array', body: '[{"model":"fraud-model"}]', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /JSON object/ },
  { name: 'body is a JSON string', body: '"fraud-model"', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /JSON object/ },
  { name: 'body is null', body: 'null', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /JSON object/ },
  { name: 'empty body', body: '', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error' },
  { name: 'model missing', body: chat({}), status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /'model' string/ },
  { name: 'model not a string', body: chat({ model: 42 }), status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error', message: /'model' string/ },
  { name: 'model empty', body: chat({ model: '' }), status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error' },
  { name: 'model only inherited (__proto__)', body: '{"__proto__":{"model":"fraud-model"},"messages":[]}', status: 400, code: 'BAD_REQUEST', type: 'invalid_request_error' },
  { name: 'unknown model', body: chat({ model: 'no-such-endpoint' }), status: 404, code: 'ENDPOINT_NOT_FOUND', type: 'not_found_error', message: /no endpoint named 'no-such-endpoint'/ },
  { name: 'unknown model with odd characters is not echoed', body: chat({ model: 'x\u001b[31m\nforged: line' }), status: 404, code: 'ENDPOINT_NOT_FOUND', type: 'not_found_error', message: /^the request's model names no endpoint$/ },
  { name: 'model the caller may not use', headers: { authorization: `Bearer ${OTHER_KEY}` }, body: chat({ model: 'fraud-model' }), status: 403, code: 'PERMISSION_DENIED', type: 'permission_error', message: /may not use endpoint 'fraud-model'/ },
  { name: 'no caller key', headers: { authorization: '' }, body: chat({ model: 'fraud-model' }), status: 401, code: 'UNAUTHENTICATED', type: 'authentication_error' },
  { name: 'wrong caller key', headers: { authorization: 'Bearer nope' }, body: chat({ model: 'fraud-model' }), status: 401, code: 'UNAUTHENTICATED', type: 'authentication_error' },
  { name: 'text/plain body', headers: { 'content-type': 'text/plain' }, body: chat({ model: 'fraud-model' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', type: 'invalid_request_error' },
  { name: 'no content type', headers: { 'content-type': '' }, body: chat({ model: 'fraud-model' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', type: 'invalid_request_error' },
  { name: 'gzip-encoded body', headers: { 'content-encoding': 'gzip' }, body: chat({ model: 'fraud-model' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', type: 'invalid_request_error' },
  { name: 'body over every endpoint\'s limit', body: chat({ model: 'fraud-model', pad: 'x'.repeat(5000) }), status: 413, code: 'PAYLOAD_TOO_LARGE', type: 'invalid_request_error' },
  { name: 'body over the named endpoint\'s own limit', body: chat({ model: 'feed-ads', pad: 'x'.repeat(1500) }), status: 413, code: 'PAYLOAD_TOO_LARGE', type: 'invalid_request_error' },
  { name: 'GET on chat/completions', method: 'GET', body: undefined, status: 405, code: 'METHOD_NOT_ALLOWED', type: 'invalid_request_error' },
  { name: 'POST on models', path: '/v1/models', body: chat({ model: 'fraud-model' }), status: 405, code: 'METHOD_NOT_ALLOWED', type: 'invalid_request_error' }
]

async function send (s: Stack, c: Case, path: string): Promise<{ status: number, headers: Record<string, unknown>, json: Record<string, any> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json', ...c.headers }
  for (const name of Object.keys(headers)) if (headers[name] === '') delete headers[name]
  const res = await request(`${s.gatewayUrl}${path}`, { method: (c.method ?? 'POST') as 'POST', headers, body: c.body })
  return { status: res.statusCode, headers: res.headers, json: await res.body.json() as Record<string, any> }
}

t.test('every refusal of the OpenAI-compatible routes is the gateway\'s own, and sends nothing upstream', async t => {
  const s = await startStack(t, {
    config: (doc) => {
      // fraud-model takes 4 KiB bodies, feed-ads 1 KiB: the largest bounds the read before routing.
      for (const e of doc.endpoints) e.bodyLimitBytes = e.name === 'fraud-model' ? 4096 : 1024
    }
  })
  for (const c of cases) {
    for (const path of c.path === undefined ? ['/serving-endpoints/chat/completions', '/v1/chat/completions', '/v1/embeddings', '/serving-endpoints/completions'] : [c.path]) {
      const r = await send(s, c, path)
      const label = `${c.name} (${path})`
      t.equal(r.status, c.status, label)
      t.equal(r.json.error_code, c.code, `${label}: error_code`)
      t.same(r.json.error, { message: r.json.message, type: c.type, code: c.code }, `${label}: OpenAI error object`)
      t.type(r.json.request_id, 'string', `${label}: request id`)
      t.equal(r.headers['x-request-id'], r.json.request_id, `${label}: x-request-id header`)
      if (c.message !== undefined) t.match(r.json.message, c.message, `${label}: message`)
    }
  }
  t.same(s.emu.stats().invocations, {}, 'not one request reached the endpoint')
  t.equal(s.emu.stats().tokenRequests, 0, 'a refusal costs no token')
})

t.test('a chunked body is read to route it, and bounded the same way', async t => {
  const s = await startStack(t, { config: (doc) => { for (const e of doc.endpoints) e.bodyLimitBytes = 2048 } })
  async function * chunks (text: string): AsyncGenerator<string> {
    for (let i = 0; i < text.length; i += 100) yield text.slice(i, i + 100)
  }
  const ok = await request(`${s.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: Readable.from(chunks(chat({ model: 'fraud-model', max_tokens: 2 })))
  })
  t.equal(ok.statusCode, 200)
  t.equal((await ok.body.json() as any).choices[0].message.content, 't0 t1')
  const big = await request(`${s.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: Readable.from(chunks(chat({ model: 'fraud-model', pad: 'y'.repeat(5000) })))
  }).catch((e: unknown) => e)
  // The gateway answers 413 and closes: the client may see the answer or a reset mid-upload.
  if ('statusCode' in (big as object)) {
    const r = big as Awaited<ReturnType<typeof request>>
    t.equal(r.statusCode, 413)
    t.equal(r.headers.connection, 'close', 'the rest of the upload is not read')
    await r.body.dump()
  } else {
    t.pass('the client saw the connection close mid-upload')
  }
  t.equal(Object.values(s.emu.stats().invocations['fraud-model'] ?? {}).reduce((a, b) => a + b, 0), 1, 'only the first request went upstream')
})

t.test('Expect: 100-continue is answered after admission, then the body is read and routed', async t => {
  const s = await startStack(t)
  const body = chat({ model: 'feed-ads', max_tokens: 1 })
  const { status, text, continued } = await new Promise<{ status: number, text: string, continued: boolean }>((resolve, reject) => {
    let continued = false
    const req = httpRequest(`${s.gatewayUrl}/serving-endpoints/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' }
    }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, continued }))
    })
    req.on('continue', () => {
      continued = true
      req.end(body)
    })
    req.on('error', reject)
    req.flushHeaders()
  })
  t.ok(continued, 'the gateway sent 100 Continue')
  t.equal(status, 200)
  t.equal(JSON.parse(text).choices[0].message.content, 't0')
})

t.test('the invocation route answers in Databricks\' shape alone: its SDKs read a truthy `error` as a message string', async t => {
  const s = await startStack(t)
  const missing = await s.invoke('no-such-endpoint')
  t.equal(missing.status, 404)
  t.same(Object.keys(missing.json()).sort(), ['error_code', 'message', 'request_id'])
  const denied = await s.invoke('fraud-model', { inputs: [1] }, { authorization: `Bearer ${OTHER_KEY}` })
  t.equal(denied.status, 403)
  t.equal(denied.json().error, undefined)
  const route404 = await request(`${s.gatewayUrl}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}` }, body: '{}' })
  t.equal(route404.statusCode, 404)
  t.match(await route404.body.json(), { error_code: 'ENDPOINT_NOT_FOUND', error: { type: 'not_found_error', code: 'ENDPOINT_NOT_FOUND' } }, 'any other path carries both shapes')
})
