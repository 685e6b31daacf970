// The control-plane client: sends the workspace token and the JSON body; Databricks errors come
// back as `ERROR_CODE: message`, never with the token in them.
import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import t from 'tap'
import { Agent } from 'undici'
import { createServingEndpointsClient } from '../../src/workspace/serving-endpoints.js'

const TOKEN = 'eyJ0b2tlbi1mb3ItdGVzdHM.c2VjcmV0.c2lnbmF0dXJl'

async function fake (t: { teardown: (fn: () => unknown) => void }, answer: (req: IncomingMessage, body: string) => { status: number, body: string }) {
  const seen: Array<{ method: string, url: string, auth: string, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization ?? '', body })
      const a = answer(req, body)
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.close())
  const { port } = server.address() as { port: number }
  return { seen, client: createServingEndpointsClient({ host: `http://127.0.0.1:${port}/`, token: async () => TOKEN, dispatcher, timeoutMs: 5000 }) }
}

t.test('requests: paths, methods, bearer token, JSON body', async t => {
  const { seen, client } = await fake(t, (req) => ({ status: 200, body: req.method === 'DELETE' ? '{}' : req.url === '/api/2.0/serving-endpoints' && req.method === 'GET' ? '{}' : '{"name":"a b"}' }))
  t.same(await client.list(), [], 'an empty workspace answers {}')
  t.equal((await client.get('a b')).name, 'a b')
  await client.create({ name: 'x', config: { served_entities: [] }, route_optimized: true })
  await client.updateConfig('a b', { served_entities: [] })
  await client.delete('a b')
  t.same(seen.map(s => `${s.method} ${s.url}`), [
    'GET /api/2.0/serving-endpoints', 'GET /api/2.0/serving-endpoints/a%20b', 'POST /api/2.0/serving-endpoints',
    'PUT /api/2.0/serving-endpoints/a%20b/config', 'DELETE /api/2.0/serving-endpoints/a%20b'
  ])
  t.ok(seen.every(s => s.auth === `Bearer ${TOKEN}`))
  t.same(JSON.parse(seen[2]?.body ?? ''), { name: 'x', config: { served_entities: [] }, route_optimized: true })
})

t.test('errors read ERROR_CODE: message; an echoed token is masked', async t => {
  const { client } = await fake(t, (req) => req.method === 'POST'
    ? { status: 400, body: JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: `bad name; you sent Bearer ${TOKEN}\nsecond line` }) }
    : req.method === 'DELETE' ? { status: 502, body: '<html>bad gateway</html>' } : { status: 404, body: '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Endpoint \'nope\' does not exist."}' })
  const create = await client.create({ name: 'x', config: { served_entities: [] }, route_optimized: true }).catch((e: Error) => e)
  t.match(create, { code: 'ROUTEGATE_ERR_WORKSPACE_API', errorCode: 'INVALID_PARAMETER_VALUE', status: 400, message: 'INVALID_PARAMETER_VALUE: bad name; you sent Bearer *** second line' })
  t.notMatch(String((create as Error).message), TOKEN)
  t.match(await client.get('nope').catch((e: Error) => e), { message: "RESOURCE_DOES_NOT_EXIST: Endpoint 'nope' does not exist." })
  t.match(await client.delete('x').catch((e: Error) => e), { message: "HTTP_502: deleting endpoint 'x': the workspace answered 502 without JSON" })
})

t.test('a workspace that does not answer', async t => {
  const client = createServingEndpointsClient({ host: 'http://127.0.0.1:1', token: async () => TOKEN, dispatcher: new Agent(), timeoutMs: 2000 })
  t.match(await client.list().catch((e: Error) => e), { errorCode: 'UNAVAILABLE', message: /^UNAVAILABLE: listing endpoints: the workspace did not answer \(ECONNREFUSED\)$/ })
})
