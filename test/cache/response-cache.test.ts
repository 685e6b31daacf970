import t from 'tap'
import { bypasses, cacheKey, ResponseCache, storable } from '../../src/cache/response-cache.js'

const answer = (s: string) => ({ contentType: 'application/json', body: Buffer.from(s) })

t.test('a settled miss answers later look-ups until its ttl passes', async t => {
  let now = 1000
  const cache = new ResponseCache({ ttlMs: 500, maxEntries: 10, maxBytes: 1 << 20, maxEntryBytes: 1024, now: () => now })
  const key = cacheKey('fraud', undefined, Buffer.from('{"k":1}'))
  const first = cache.lookup(key)
  t.equal(first.result, 'miss')
  if (first.result === 'miss') first.settle(answer('{"p":0.1}'))
  const hit = cache.lookup(key)
  t.equal(hit.result, 'hit')
  if (hit.result === 'hit') t.equal(hit.answer.body.toString(), '{"p":0.1}')
  now += 499
  t.equal(cache.lookup(key).result, 'hit')
  now += 2
  t.equal(cache.lookup(key).result, 'miss', 'expired')
})

t.test('concurrent misses of one key share the first one\'s answer', async t => {
  const cache = new ResponseCache({ ttlMs: 1000, maxEntries: 10, maxBytes: 1 << 20, maxEntryBytes: 1024 })
  const key = cacheKey('fraud', undefined, Buffer.from('x'))
  const leader = cache.lookup(key)
  t.equal(leader.result, 'miss')
  const waits = []
  for (let i = 0; i < 49; i++) {
    const l = cache.lookup(key)
    t.equal(l.result, 'coalesced')
    if (l.result === 'coalesced') waits.push(l.wait)
  }
  t.equal(cache.pending, 1)
  if (leader.result === 'miss') leader.settle(answer('{"ok":true}'))
  const got = await Promise.all(waits)
  t.ok(got.every(a => a?.body.toString() === '{"ok":true}'))
  t.equal(cache.pending, 0)
})

t.test('a miss settled with nothing stores nothing and releases the waiters', async t => {
  const cache = new ResponseCache({ ttlMs: 1000, maxEntries: 10, maxBytes: 1 << 20, maxEntryBytes: 1024 })
  const key = cacheKey('fraud', undefined, Buffer.from('x'))
  const leader = cache.lookup(key)
  const follower = cache.lookup(key)
  if (leader.result !== 'miss' || follower.result !== 'coalesced') throw new Error('unexpected')
  leader.settle(undefined)
  leader.settle(answer('{}')) // a second settle changes nothing
  t.equal(await follower.wait, undefined)
  t.equal(cache.size, 0)
  t.equal(cache.lookup(key).result, 'miss')
})

t.test('keys differ by endpoint, caller and body bytes', async t => {
  const b = Buffer.from('{"a":1}')
  const keys = new Set([
    cacheKey('e', undefined, b), cacheKey('e', 'alice', b), cacheKey('e', 'bob', b),
    cacheKey('f', undefined, b), cacheKey('e', undefined, Buffer.from('{"a": 1}'))
  ])
  t.equal(keys.size, 5)
  t.equal(cacheKey('e', 'alice', b), cacheKey('e', 'alice', Buffer.from('{"a":1}')))
})

t.test('100,000 distinct keys stay within maxEntries and maxBytes', async t => {
  const cache = new ResponseCache({ ttlMs: 60_000, maxEntries: 1000, maxBytes: 200_000, maxEntryBytes: 1024 })
  const body = Buffer.alloc(500, 'a')
  for (let i = 0; i < 100_000; i++) {
    const l = cache.lookup(cacheKey('e', undefined, Buffer.from(String(i))))
    if (l.result === 'miss') l.settle({ contentType: 'application/json', body })
  }
  t.ok(cache.size <= 1000, `entries ${cache.size}`)
  t.ok(cache.bytes <= 200_000, `bytes ${cache.bytes}`)
  t.ok(cache.size > 0)
  const small = new ResponseCache({ ttlMs: 60_000, maxEntries: 50, maxBytes: 1 << 30, maxEntryBytes: 1024 })
  for (let i = 0; i < 100_000; i++) {
    const l = small.lookup(String(i))
    if (l.result === 'miss') l.settle({ contentType: 'application/json', body })
  }
  t.equal(small.size, 50)
})

t.test('an answer over maxEntryBytes is handed to waiters but not kept', async t => {
  const cache = new ResponseCache({ ttlMs: 1000, maxEntries: 10, maxBytes: 1 << 20, maxEntryBytes: 4 })
  const l = cache.lookup('k')
  if (l.result === 'miss') l.settle(answer('12345'))
  t.equal(cache.lookup('k').result, 'miss')
})

t.test('storable: whole 200 JSON answers only', async t => {
  const json = { 'content-type': 'application/json; charset=utf-8' }
  t.ok(storable(200, json, 10, 10))
  t.ok(storable(200, { 'content-type': 'application/vnd.api+json' }, 1, 10))
  t.notOk(storable(200, json, 11, 10), 'too large')
  t.notOk(storable(201, json, 1, 10), 'not 200')
  t.notOk(storable(503, json, 1, 10), 'an error')
  t.notOk(storable(200, { 'content-type': 'text/event-stream' }, 1, 10), 'a stream')
  t.notOk(storable(200, { 'content-type': 'application/jsonl' }, 1, 10), 'json lines')
  t.notOk(storable(200, {}, 1, 10), 'no type')
  t.notOk(storable(200, { ...json, 'content-encoding': 'gzip' }, 1, 10), 'coded')
  t.ok(storable(200, { ...json, 'content-encoding': 'identity' }, 1, 10))
  t.notOk(storable(200, { ...json, 'set-cookie': 'a=b' }, 1, 10), 'a cookie')
  t.notOk(storable(200, { ...json, 'cache-control': 'no-store' }, 1, 10), 'upstream said no-store')
  t.notOk(storable(200, { ...json, 'cache-control': 'max-age=0, private' }, 1, 10), 'private')
})

t.test('bypasses: no-cache or no-store from the caller', async t => {
  t.ok(bypasses('no-cache'))
  t.ok(bypasses('max-age=0, No-Cache'))
  t.ok(bypasses(['max-age=1', 'no-store']))
  t.ok(bypasses('no-cache="set-cookie"'))
  t.notOk(bypasses(undefined))
  t.notOk(bypasses('max-age=60'))
  t.notOk(bypasses('no-transform'))
})

t.test('options are checked', async t => {
  t.throws(() => new ResponseCache({ ttlMs: 0, maxEntries: 1, maxBytes: 1, maxEntryBytes: 1 }), TypeError)
  t.throws(() => new ResponseCache({ ttlMs: 1, maxEntries: 1.5, maxBytes: 1, maxEntryBytes: 1 }), TypeError)
})
