import t from 'tap'
import { parseConfig } from '../../src/config/load.js'

const HASH = 'a'.repeat(64)
const url = (id: string): string => `https://${id}.7.serving.azuredatabricks.net/1444828305810485/serving-endpoints/x/invocations`
const base = (): any => ({
  workspaces: [{ name: 'prod', host: 'https://adb-1.7.azuredatabricks.net', clientId: 'sp-id', clientSecret: 's3cret-value' }],
  endpoints: [
    { name: 'fraud', workspace: 'prod', url: url('aaa') },
    { name: 'fraud-v2', workspace: 'prod', url: url('bbb') },
    { name: 'fraud-eu', workspace: 'prod', url: url('ccc') }
  ],
  callers: [{ name: 'checkout', keySha256: HASH, endpoints: ['*'] }]
})

t.test('cache, shadow, hedge and fallback are optional and get their defaults', async t => {
  const plain = parseConfig(base(), { env: {} })
  t.equal(plain.endpoints[0]?.cache, undefined)
  t.equal(plain.endpoints[0]?.fallback, undefined)
  const doc = base()
  Object.assign(doc.endpoints[0], { cache: {}, shadow: { endpoint: 'fraud-v2', percent: 10 }, hedge: {}, fallback: ['fraud-eu'] })
  const c = parseConfig(doc, { env: {} })
  const e = c.endpoints[0]
  t.same(e?.cache, { ttlMs: 60_000, maxEntries: 10_000, maxEntryBytes: 65_536, maxBytes: 64 * 1024 * 1024, perCaller: false })
  t.same(e?.shadow, { endpoint: 'fraud-v2', percent: 10, maxInFlight: 32, maxBodyBytes: 1024 * 1024 })
  t.same(e?.hedge, { afterMs: 'p95', maxPercent: 5 })
  t.same(e?.fallback, ['fraud-eu'])
  const fixed = base()
  fixed.endpoints[0].hedge = { afterMs: 40, maxPercent: 2 }
  t.same(parseConfig(fixed, { env: {} }).endpoints[0]?.hedge, { afterMs: 40, maxPercent: 2 })
})

const bad: Array<[string, (e: any) => void, RegExp]> = [
  ['a shadow of itself', e => { e.shadow = { endpoint: 'fraud', percent: 5 } }, /endpoints\[0\]\.shadow\.endpoint: an endpoint cannot shadow itself/],
  ['a shadow naming no endpoint', e => { e.shadow = { endpoint: 'nope', percent: 5 } }, /endpoints\[0\]\.shadow\.endpoint: no endpoint named 'nope'/],
  ['a fallback to itself', e => { e.fallback = ['fraud-eu', 'fraud'] }, /endpoints\[0\]\.fallback\[1\]: an endpoint cannot fall back to itself/],
  ['a fallback naming no endpoint', e => { e.fallback = ['nope'] }, /endpoints\[0\]\.fallback\[0\]: no endpoint named 'nope'/],
  ['a fallback listed twice', e => { e.fallback = ['fraud-eu', 'fraud-eu'] }, /endpoints\[0\]\.fallback: duplicate 'fraud-eu'/],
  ['a percent over 100', e => { e.shadow = { endpoint: 'fraud-v2', percent: 101 } }, /endpoints\[0\]\.shadow\.percent: must be <= 100/],
  ['a hedge delay that is neither a number nor p95', e => { e.hedge = { afterMs: 'p99' } }, /endpoints\[0\]\.hedge\.afterMs: must be a number of milliseconds or "p95"/],
  ['a hedge budget of 0', e => { e.hedge = { maxPercent: 0 } }, /endpoints\[0\]\.hedge\.maxPercent: must be > 0/],
  ['a cache of 0 entries', e => { e.cache = { maxEntries: 0 } }, /endpoints\[0\]\.cache\.maxEntries: must be >= 1/],
  ['an unknown cache field', e => { e.cache = { size: 1 } }, /endpoints\[0\]\.cache: unknown field 'size'/]
]
for (const [what, edit, message] of bad) {
  t.test(`config error: ${what}`, async t => {
    const doc = base()
    edit(doc.endpoints[0])
    t.throws(() => parseConfig(doc, { env: {} }), { code: 'ROUTEGATE_ERR_CONFIG', message })
  })
}
