import t from 'tap'
import * as http from 'node:http'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

/** node:http, because undici rewrites a Connection header that lists other fields. */
function rawPost (url: string, headers: Record<string, string>, body: string): Promise<{ status: number, headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, res => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('the upstream never sees the caller key, cookies or hop-by-hop headers; x-request-id flows both ways', async t => {
  const s = await startStack(t)
  const r1 = await rawPost(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    authorization: `Bearer ${CALLER_KEY}`,
    'content-type': 'application/json',
    'x-request-id': 'req-abc.123',
    cookie: 'session=abc',
    connection: 'keep-alive, x-hop',
    'x-hop': 'drop-me',
    'x-custom': 'keep-me'
  }, '{"inputs":[1]}')
  t.equal(r1.status, 200)
  t.equal(r1.headers['x-request-id'], 'req-abc.123')
  const r2 = await s.invoke('fraud-model', { inputs: [1] }, { 'x-api-key': CALLER_KEY, authorization: '' })
  t.equal(r2.status, 200, 'X-Api-Key is accepted too')
  t.match(r2.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a request id is generated when none is given')
  const r3 = await s.invoke('fraud-model', { inputs: [1] }, { 'x-request-id': 'bad id\twith tab' })
  t.not(r3.headers['x-request-id'], 'bad id\twith tab', 'an unsafe request id is replaced')

  const seen = s.emu.stats().invocationHeaders
  t.equal(seen.length, 3)
  for (const h of seen) {
    t.notMatch(JSON.stringify(h), CALLER_KEY, 'no caller key upstream')
    t.match(h.authorization, /^Bearer eyJ/, 'a Databricks-style token instead')
    t.equal(h.cookie, undefined)
    t.equal(h['x-api-key'], undefined)
    t.equal(h['x-hop'], undefined)
  }
  t.equal(seen[0]?.['x-request-id'], 'req-abc.123')
  t.equal(seen[0]?.['x-custom'], 'keep-me')
  t.equal(seen[1]?.['x-request-id'], r2.headers['x-request-id'])
})
