import t from 'tap'
import pino from 'pino'
import { buildEmulator } from '../src/index.js'

t.test('defaults: a 16-digit workspace, two route-optimized endpoints with 32-hex ids, one all-powerful principal', async t => {
  const emu = buildEmulator()
  t.teardown(() => emu.app.close())
  t.match(emu.workspaceId, /^[1-9]\d{15}$/)
  t.same(Object.keys(emu.endpoints), ['fraud-model', 'feed-ads'])
  for (const e of Object.values(emu.endpoints)) {
    t.match(e.id, /^[0-9a-f]{32}$/)
    t.match(e, { routeOptimized: true, ready: true, workspaceUrlAllowed: false, servedModelName: `${e.name}-1` })
  }
  t.equal(emu.principals.length, 1)
  t.match(emu.principals[0], { clientId: /^[0-9a-f-]{36}$/, clientSecret: /^dose[0-9a-f]{32}$/ })
  t.same(emu.principals[0]!.permissions, [{ endpoint: '*', actions: ['query_inference_endpoint', 'manage_inference_endpoint'] }])
})

t.test('builds without listening and answers through inject()', async t => {
  const emu = buildEmulator({ workspaceId: '42' })
  t.teardown(() => emu.app.close())
  const res = await emu.app.inject({ url: '/.well-known/databricks-config' })
  t.equal(res.json().workspace_id, '42')
  t.equal(emu.app.server.listening, false)
})

t.test('a pino instance is accepted as the logger', async t => {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(line) } })
  const emu = buildEmulator({ logger })
  t.teardown(() => emu.app.close())
  await emu.app.inject({ url: '/.well-known/databricks-config' })
  t.ok(lines.some(l => l.includes('/.well-known/databricks-config')))
  const quiet = buildEmulator({ logger: { level: 'silent' } })
  t.teardown(() => quiet.app.close())
  t.equal((await quiet.app.inject({ url: '/.well-known/databricks-config' })).statusCode, 200)
})

t.test('invalid options throw TypeError eagerly', async t => {
  const p = { clientId: 'c', clientSecret: 's', permissions: [] }
  const bad: Array<[string, Parameters<typeof buildEmulator>[0]]> = [
    ['workspaceId', { workspaceId: 'ws-1' }],
    ['endpoint name', { endpoints: [{ name: 'has space' }] }],
    ['endpoint name length', { endpoints: [{ name: 'x'.repeat(64) }] }],
    ['duplicate name', { endpoints: [{ name: 'a' }, { name: 'a' }] }],
    ['endpoint id', { endpoints: [{ name: 'a', id: '../x' }] }],
    ['duplicate id', { endpoints: [{ name: 'a', id: 'abc' }, { name: 'b', id: 'abc' }] }],
    ['principal id', { principals: [{ ...p, clientId: '' }] }],
    ['principal secret', { principals: [{ ...p, clientSecret: '' }] }],
    ['permissions', { principals: [{ ...p, permissions: 'all' as never }] }],
    ['permission action', { principals: [{ ...p, permissions: [{ endpoint: '*', actions: ['CAN_QUERY' as never] }] }] }],
    ['duplicate principal', { principals: [p, p] }],
    ['ttl', { tokenTtlSeconds: 0 }],
    ['fractional ttl', { tokenTtlSeconds: 1.5 }],
    ['dp ttl', { dataPlaneTokenTtlSeconds: -1 }],
    ['stream interval', { streamIntervalMs: -1 }],
    ['sse line end', { endpoints: [{ name: 'a', sseLineEnd: 'nl' as never }] }],
    ['honour encoding format', { endpoints: [{ name: 'a', honourEncodingFormat: 'yes' as never }] }],
    ['now', { now: 5 as never }]
  ]
  for (const [name, opts] of bad) t.throws(() => buildEmulator(opts), TypeError, name)
})

t.test('endpoint names follow the create API rule, `__proto__` included', async t => {
  const emu = buildEmulator({ endpoints: [{ name: '_scoring' }, { name: '__proto__' }] })
  t.teardown(() => emu.app.close())
  t.same(Object.keys(emu.endpoints), ['_scoring', '__proto__'], 'own keys, the prototype untouched')
  t.equal(Object.getOwnPropertyDescriptor(emu.endpoints, '__proto__')?.value.name, '__proto__')
  t.throws(() => buildEmulator({ endpoints: [{ name: 'dotted.name' }] }), TypeError, 'Databricks takes no dot')
})

t.test('the data-plane TTL defaults to the token TTL', async t => {
  const emu = buildEmulator({ tokenTtlSeconds: 77 })
  t.teardown(() => emu.app.close())
  const p = emu.principals[0]!
  const cp = (await emu.app.inject({
    method: 'POST',
    url: '/oidc/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&scope=all-apis&client_id=${p.clientId}&client_secret=${p.clientSecret}`
  })).json()
  const dp = (await emu.app.inject({
    method: 'POST',
    url: '/oidc/v1/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: cp.access_token,
      authorization_details: JSON.stringify([{ type: 'workspace_permission', object_type: 'serving-endpoints', object_path: `/serving-endpoints/${emu.endpoints['feed-ads']!.id}`, actions: ['query_inference_endpoint'] }])
    }).toString()
  })).json()
  t.equal(dp.expires_in, 77)
})
