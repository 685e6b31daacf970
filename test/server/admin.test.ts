// The admin listener's health, readiness and metrics. Its checks go through fastify's inject
// (no socket); one test reads it over its socket, as Kubernetes and Prometheus do. Gateway
// requests go over the socket, through the fast path.
import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

t.test('healthz, readyz and metrics on the admin listener', async t => {
  const s = await startStack(t)
  const health = await request(`${s.adminUrl}/healthz`)
  t.equal(health.statusCode, 200)
  t.same(await health.body.json(), { status: 'ok' })

  const ready = await s.rg.admin.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200, 'can get a token for every endpoint')
  const body = ready.json()
  t.equal(body.status, 'ready')
  t.equal(body.endpoints['fraud-model'].token, 'valid')
  t.ok(Date.parse(body.endpoints['fraud-model'].expiresAt) > Date.now())

  await s.invoke('fraud-model', { inputs: [1] })
  const metrics = await request(`${s.adminUrl}/metrics`)
  t.match(metrics.headers['content-type'], /text\/plain/)
  const text = await metrics.body.text()
  for (const name of ['routegate_requests_total', 'routegate_request_duration_seconds_bucket', 'routegate_upstream_duration_seconds_bucket',
    'routegate_overhead_seconds_bucket', 'routegate_token_fetches_total', 'routegate_token_fetch_duration_seconds_bucket', 'routegate_token_cache_total',
    'routegate_token_expiry_timestamp_seconds', 'routegate_inflight_requests', 'routegate_upstream_pool_connections']) {
    t.match(text, new RegExp(`^${name}\\{`, 'm'), name)
  }
  t.match(text, /routegate_requests_total\{endpoint="fraud-model",code="200"\} 1/)
  t.match(text, /routegate_token_fetches_total\{workspace="emu",result="success"\} 2/)
  t.match(text, /routegate_overhead_seconds_bucket\{le="0.0001",endpoint="fraud-model"\}/, 'overhead buckets start at 100 µs')
  t.match(text, /routegate_upstream_duration_seconds_bucket\{le="300",endpoint="fraud-model"\}/, 'upstream buckets reach 300 s')
  t.match(text, /routegate_upstream_pool_connections\{endpoint="fraud-model",state="connected"\} 1/)
})

t.test('raw paths never become label values', async t => {
  const s = await startStack(t)
  await request(`${s.gatewayUrl}/serving-endpoints/made-up-${Math.random()}/invocations`, { method: 'POST', body: '{}' })
  await request(`${s.gatewayUrl}/some/other/path`, { method: 'POST', body: '{}' })
  const text = (await s.rg.admin.inject({ url: '/metrics' })).body
  t.match(text, /routegate_requests_total\{endpoint="unknown",code="401"\} 1/)
  t.match(text, /routegate_requests_total\{endpoint="unknown",code="404"\} 1/)
  t.notMatch(text, /made-up|other\/path/)
})

t.test('readyz is 503 with the reason when no token can be had', async t => {
  const s = await startStack(t, { config: (doc) => { doc.workspaces[0]!.clientSecret = 'wrong' } })
  const ready = await s.rg.admin.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  const body = ready.json()
  t.equal(body.status, 'not ready')
  t.equal(body.endpoints['fraud-model'].token, 'none')
  t.equal(body.endpoints['fraud-model'].lastError, 'invalid_client')
  t.notMatch(JSON.stringify(body), 'wrong')
})

t.test('readyz is 503 "warming up" while the start-up warm-up runs, then 200; the warm-up fetches every token', async t => {
  const s = await startStack(t)
  s.emu.faults.token({ latencyMs: 400 })
  const warm = s.rg.warm()
  const during = await s.rg.admin.inject({ url: '/readyz' })
  t.equal(during.statusCode, 503)
  t.match(during.json(), { status: 'warming up' })
  const gauge = (await s.rg.admin.inject({ url: '/metrics' })).body
  t.match(gauge, /routegate_ready 0/, 'the gauge agrees')
  await warm
  t.equal(s.emu.stats().tokenRequests, 2, 'one token per endpoint, fetched by the warm-up')
  const after = await s.rg.admin.inject({ url: '/readyz' })
  t.equal(after.statusCode, 200)
  t.match((await s.rg.admin.inject({ url: '/metrics' })).body, /routegate_ready 1/)
})
