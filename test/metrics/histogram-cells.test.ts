import { Histogram, Registry } from 'prom-client'
import t from 'tap'
import { createMetrics, foldHistogram, histogramCells } from '../../src/metrics/index.js'

const BOUNDS = [0.1, 1, 10]

t.test('cells count per bucket (not cumulative), sum and count; values past the last bound count in count only', async t => {
  const c = histogramCells(BOUNDS)
  for (const v of [0.05, 0.1, 0.5, 5, 50, NaN, Infinity]) c.observe(v)
  t.same([...c.counts], [2, 1, 1])
  t.equal(c.count, 5, 'NaN and Infinity are dropped')
  t.equal(c.sum, 55.65)
})

t.test('folded cells expose exactly what prom-client\'s own observe would', async t => {
  const values = [0.01, 0.1, 0.7, 3, 3, 42]
  const own = new Registry()
  const reference = new Histogram({ name: 'h', help: 'h', labelNames: ['endpoint'], buckets: BOUNDS, registers: [own] })
  for (const v of values) reference.observe({ endpoint: 'a' }, v)
  reference.observe({ endpoint: 'b' }, 0.2)

  const folded = new Registry()
  const a = histogramCells(BOUNDS)
  const b = histogramCells(BOUNDS)
  const idle = histogramCells(BOUNDS)
  for (const v of values) a.observe(v)
  b.observe(0.2)
  const children = [{ labels: { endpoint: 'a' }, cells: a }, { labels: { endpoint: 'idle' }, cells: idle }, { labels: { endpoint: 'b' }, cells: b }]
  // eslint-disable-next-line no-new -- registered by construction
  new Histogram({ name: 'h', help: 'h', labelNames: ['endpoint'], buckets: BOUNDS, registers: [folded], collect () { foldHistogram(this, BOUNDS, children) } })
  const text = await folded.metrics()
  t.equal(text, await own.metrics())
  t.notMatch(text, 'idle', 'a child with no observation has no series yet')
  a.observe(0.5)
  t.match(await folded.metrics(), 'h_count{endpoint="a"} 7', 'every scrape shows the totals so far')
})

t.test('the gateway\'s request-path series: histograms, in-flight gauge and token look-ups show at scrape time', async t => {
  const m = createMetrics({ endpoints: ['chat'], workspaces: ['ws'], defaultMetrics: false })
  const s = m.endpointSeries('chat')
  s.duration.observe(0.003)
  s.upstream.observe(0.002)
  s.overhead.observe(0.0002)
  s.inflight.inc()
  s.inflight.inc()
  s.inflight.dec()
  m.brokerEvents.lookup('hit')
  m.brokerEvents.lookup('hit')
  m.brokerEvents.lookup('miss')
  const text = await m.registry.metrics()
  t.match(text, 'routegate_request_duration_seconds_bucket{le="0.005",endpoint="chat"} 1')
  t.match(text, 'routegate_upstream_duration_seconds_count{endpoint="chat"} 1')
  t.match(text, 'routegate_overhead_seconds_bucket{le="0.00025",endpoint="chat"} 1')
  t.match(text, 'routegate_inflight_requests{endpoint="chat"} 1')
  t.notMatch(text, 'routegate_inflight_requests{endpoint="unknown"}', 'unknown shows only once used')
  t.match(text, 'routegate_token_cache_total{result="hit"} 2')
  t.match(text, 'routegate_token_cache_total{result="miss"} 1')
  t.match(text, 'routegate_token_cache_total{result="refresh"} 0')
  t.notMatch(text, 'routegate_request_duration_seconds_count{endpoint="unknown"}', 'no histogram series before an observation')
})
