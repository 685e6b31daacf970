import { inspect } from 'node:util'
import t from 'tap'
import { cachedMatches, createKeyTable, sha256Hex } from '../../src/callers/keys.js'
import { callerConfig } from './helpers/idp.js'

/** A look-up that counts its calls and matches the keys in `valid`. */
function counting (valid: readonly string[]): { lookup: (key: string) => { key: string } | undefined, calls: string[] } {
  const calls: string[] = []
  return { calls, lookup: (key) => { calls.push(key); return valid.includes(key) ? { key } : undefined } }
}

t.test('a matching key is looked up once, then remembered', async t => {
  const { lookup, calls } = counting(['good'])
  const cached = cachedMatches(lookup, { max: 10, maxKeyLength: 64 })
  const first = cached('good')
  t.equal(cached('good'), first, 'the same match')
  t.equal(cached('good'), first)
  t.same(calls, ['good'])
})

t.test('a key that matches nothing is never remembered: looked up every time', async t => {
  const { lookup, calls } = counting([])
  const cached = cachedMatches(lookup, { max: 10, maxKeyLength: 64 })
  for (let i = 0; i < 3; i++) t.equal(cached('guess'), undefined)
  t.same(calls, ['guess', 'guess', 'guess'])
})

t.test('keys over maxKeyLength are looked up every time', async t => {
  const long = 'k'.repeat(65)
  const { lookup, calls } = counting([long, 'k'.repeat(64)])
  const cached = cachedMatches(lookup, { max: 10, maxKeyLength: 64 })
  t.ok(cached(long))
  t.ok(cached(long))
  t.ok(cached('k'.repeat(64)))
  t.ok(cached('k'.repeat(64)))
  t.same(calls.map(k => k.length), [65, 65, 64], 'the 64-character key once, the 65-character one twice')
})

t.test('at most max keys are remembered: the least recently used goes first', async t => {
  const { lookup, calls } = counting(['a', 'b', 'c'])
  const cached = cachedMatches(lookup, { max: 2, maxKeyLength: 64 })
  cached('a')
  cached('b')
  cached('a') // a is now the most recent
  cached('c') // evicts b
  calls.length = 0
  cached('a')
  cached('c')
  t.same(calls, [], 'a and c remembered')
  cached('b')
  t.same(calls, ['b'], 'b was evicted')
})

t.test('the key table answers the same through its cache, and shows no key', async t => {
  const KEY = 'rgk_secret-key-value'
  const table = createKeyTable([callerConfig({ name: 'checkout', keySha256: [sha256Hex('rgk_other'), sha256Hex(KEY).toUpperCase()] })])
  const first = table.lookup(KEY)
  t.match(first, { keyIndex: 1, caller: { name: 'checkout' } })
  t.equal(table.lookup(KEY), first)
  t.equal(table.lookup(`${KEY}x`), undefined)
  t.notMatch(inspect(table, { depth: 10, showHidden: true }), KEY, 'the table object does not show the key')
  t.notMatch(JSON.stringify(table) ?? '', KEY)
})
