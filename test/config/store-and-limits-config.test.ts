// The store section and the limit fields: defaults, validation, and a Redis URL that never prints.
import t from 'tap'
import { inspect } from 'node:util'
import { parseConfig } from '../../src/config/load.js'

const base = (): any => ({
  workspaces: [{ name: 'ws', host: 'https://adb-1.1.azuredatabricks.net', clientId: 'id', clientSecret: 'secret' }],
  endpoints: [{ name: 'ep', workspace: 'ws', url: 'https://abc.serving.cloud.databricks.com/1/serving-endpoints/ep/invocations' }],
  callers: [{ name: 'c', keySha256: 'a'.repeat(64), endpoints: ['*'] }]
})

t.test('store.redis: defaults, and its URL (which may hold a password) never prints', async t => {
  const doc = base()
  doc.store = { redis: { url: '${env:REDIS_URL}' } }
  const c = parseConfig(doc, { env: { REDIS_URL: 'rediss://default:hunter2-redis@redis.internal:6380' } })
  t.equal(c.store?.redis.keyPrefix, 'routegate:')
  t.equal(c.store?.redis.timeoutMs, 50)
  t.equal(c.store?.redis.url.reveal(), 'rediss://default:hunter2-redis@redis.internal:6380')
  t.notMatch(JSON.stringify(c), /hunter2/)
  t.notMatch(inspect(c, { depth: 10 }), /hunter2/)
  t.equal(parseConfig(base(), { env: {} }).store, undefined, 'optional')
})

t.test('store.redis: a bad URL or field is a start-up error that does not echo the URL', async t => {
  for (const [url, msg] of [
    ['http://x:pw-secret@h', /store\.redis\.url: must match/],
    ['redis://', /store\.redis\.url: (needs a host|not a valid)/],
    ['redis://x:pw-secret@h/abc', /store\.redis\.url: the path may only be a database number/],
    ['redis://x:pw-secret@h:6379/0?db=1', /store\.redis\.url: no query or fragment/]
  ] as const) {
    const doc = base()
    doc.store = { redis: { url } }
    const err = t.throws(() => parseConfig(doc, { env: {} })) as Error
    t.match(err.message, msg)
    t.notMatch(err.message, /pw-secret/)
  }
  const db = base()
  db.store = { redis: { url: 'redis://h:6379/2' } }
  t.ok(parseConfig(db, { env: {} }).store, 'a database number is a path it takes')
  const doc = base()
  doc.store = { redis: { url: 'redis://h', timeoutMs: 0 } }
  t.throws(() => parseConfig(doc, { env: {} }), /store\.redis\.timeoutMs/)
})

t.test('limits: the new fields with their defaults, on callers and endpoints', async t => {
  const doc = base()
  doc.callers[0].limits = { requestsPerMinute: 100, tokensPerMinute: 1000, tokensPerDay: 10000 }
  doc.endpoints[0].limits = { requestsPerSecond: 5, mode: 'shadow', onStoreFailure: 'closed' }
  const c = parseConfig(doc, { env: {} })
  t.match(c.callers[0]?.limits, { requestsPerMinute: 100, tokensPerMinute: 1000, mode: 'enforce', onStoreFailure: 'local' })
  t.equal(c.callers[0]?.limits?.defaultReserveTokens, undefined, 'no schema default: an endpoint\'s value is not hidden by a caller\'s default')
  t.match(c.endpoints[0]?.limits, { requestsPerSecond: 5, mode: 'shadow', onStoreFailure: 'closed' })
  doc.endpoints[0].limits = { maxConcurrent: 3 }
  t.throws(() => parseConfig(doc, { env: {} }), /endpoints\[0\]\.limits: unknown field 'maxConcurrent'/, 'concurrency is per caller')
  doc.endpoints[0].limits = { mode: 'dry-run' }
  t.throws(() => parseConfig(doc, { env: {} }), /must be one of enforce, shadow/)
})
