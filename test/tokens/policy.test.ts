import t from 'tap'
import { backoffDelay, DEFAULT_BACKOFF, holdToken, parseRetryAfter, type BackoffPolicy } from '../../src/tokens/policy.js'

const MIN = 60_000
const HOUR = 60 * MIN
const T0 = 1_000_000

t.test('holdToken: a one-hour token is stale 20 min before expiry and unusable 40 s before', async t => {
  t.same(holdToken('tok', T0, HOUR, 0), {
    value: 'tok',
    obtainedAt: T0,
    expiresAt: T0 + HOUR,
    staleAt: T0 + 40 * MIN,
    unusableAt: T0 + HOUR - 40_000
  })
})

t.test('holdToken: the jitter moves only the stale point, earlier', async t => {
  const h = holdToken('tok', T0, HOUR, 30_000)
  t.equal(h.staleAt, T0 + 40 * MIN - 30_000)
  t.equal(h.unusableAt, T0 + HOUR - 40_000, 'unusable point unaffected')
  t.equal(h.expiresAt, T0 + HOUR)
  t.equal(holdToken('tok', T0, HOUR, 1234.5).staleAt, T0 + 40 * MIN - 1234.5, 'fractional jitter kept as is')
})

t.test('holdToken: the jitter is capped at a tenth of the lifetime, and never negative', async t => {
  t.equal(holdToken('tok', T0, HOUR, 10 * HOUR).staleAt, T0 + 40 * MIN - 6 * MIN, 'one hour: at most 6 min')
  t.equal(holdToken('tok', T0, HOUR, 6 * MIN + 1).staleAt, T0 + 34 * MIN, 'just over the cap')
  t.equal(holdToken('tok', T0, HOUR, 6 * MIN - 1).staleAt, T0 + 34 * MIN + 1, 'just under the cap')
  t.equal(holdToken('tok', T0, 4000, 30_000).staleAt, T0 + 2000 - 400, 'four seconds: at most 400 ms')
  t.equal(holdToken('tok', T0, HOUR, -30_000).staleAt, T0 + 40 * MIN, 'a negative jitter counts as none')
})

t.test('holdToken: short lifetimes scale both windows', async t => {
  t.same(holdToken('tok', T0, 4000, 0), {
    value: 'tok', obtainedAt: T0, expiresAt: T0 + 4000, staleAt: T0 + 2000, unusableAt: T0 + 3600
  }, 'stale at half, unusable at nine tenths')
  t.equal(holdToken('tok', T0, 10 * MIN, 0).staleAt, T0 + 5 * MIN)
  t.equal(holdToken('tok', T0, 10 * MIN, 0).unusableAt, T0 + 10 * MIN - 40_000, '40 s is below a tenth of 10 min')
})

t.test('holdToken: boundaries of the 20 min and 40 s caps', async t => {
  // Half the lifetime equals 20 min at 40 min; a tenth equals 40 s at 400 s.
  t.equal(holdToken('tok', 0, 40 * MIN - 2, 0).staleAt, 20 * MIN - 1, 'under 40 min: half the lifetime')
  t.equal(holdToken('tok', 0, 40 * MIN, 0).staleAt, 20 * MIN, 'at 40 min: both rules agree')
  t.equal(holdToken('tok', 0, 40 * MIN + 2, 0).staleAt, 20 * MIN + 2, 'over 40 min: 20 min before expiry')
  t.equal(holdToken('tok', 0, 400_000 - 10, 0).unusableAt, 400_000 - 10 - 39_999, 'under 400 s: a tenth')
  t.equal(holdToken('tok', 0, 400_000, 0).unusableAt, 360_000, 'at 400 s: both rules agree')
  t.equal(holdToken('tok', 0, 400_000 + 10, 0).unusableAt, 400_000 + 10 - 40_000, 'over 400 s: 40 s before expiry')
})

t.test('holdToken: a zero or negative lifetime is stale and unusable at once', async t => {
  for (const lifetime of [0, -5000]) {
    t.same(holdToken('tok', T0, lifetime, 30_000), {
      value: 'tok', obtainedAt: T0, expiresAt: T0, staleAt: T0, unusableAt: T0
    }, `lifetime ${lifetime}`)
  }
  const tiny = holdToken('tok', T0, 10, 1000)
  t.equal(tiny.staleAt, T0 + 4, '10 ms: half minus a capped 1 ms jitter')
  t.equal(tiny.unusableAt, T0 + 9)
})

t.test('holdToken: obtained <= stale <= unusable <= expires for any lifetime and jitter', async t => {
  // A small deterministic generator: the same cases every run.
  let seed = 42
  const rnd = () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed / 2 ** 31 }
  const bad: string[] = []
  for (let i = 0; i < 2000; i++) {
    const lifetime = Math.floor(rnd() * 4 * HOUR)
    const jitter = Math.floor(rnd() * 2 * HOUR) - 10 * MIN
    const h = holdToken('tok', T0, lifetime, jitter)
    const ok = h.obtainedAt <= h.staleAt && h.staleAt <= h.unusableAt && h.unusableAt <= h.expiresAt &&
      h.expiresAt === T0 + lifetime &&
      h.staleAt >= h.expiresAt - Math.min(20 * MIN, lifetime / 2) - lifetime / 10
    if (!ok) bad.push(`lifetime ${lifetime} jitter ${jitter}: ${JSON.stringify(h)}`)
  }
  t.same(bad, [])
})

const POLICY: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, credentialMs: 30_000, credentialMaxMs: 300_000 }
const top = () => 1
const bottom = () => 0

t.test('backoffDelay: transient failures double from baseMs up to maxMs', async t => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map(n => backoffDelay(n, false, POLICY, top))
  t.same(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000])
})

t.test('backoffDelay: credential errors double from credentialMs up to credentialMaxMs', async t => {
  const delays = [1, 2, 3, 4, 5, 6, 50].map(n => backoffDelay(n, true, POLICY, top))
  t.same(delays, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000])
})

t.test('backoffDelay: jitter puts the delay between half and all of the capped delay', async t => {
  t.equal(backoffDelay(3, false, POLICY, bottom), 2000, 'random 0: half')
  t.equal(backoffDelay(3, false, POLICY, () => 0.5), 3000, 'random 0.5: three quarters')
  t.equal(backoffDelay(3, false, POLICY, () => 0.999), 3998, 'just under 1: nearly all')
  t.equal(backoffDelay(10, false, POLICY, bottom), 30_000, 'half of the cap, not of the uncapped delay')
  t.equal(backoffDelay(10, true, POLICY, bottom), 150_000)
  t.equal(backoffDelay(1, false, { ...POLICY, baseMs: 3 }, () => 0.5), 2, 'rounded to whole ms (2.25)')
  t.equal(backoffDelay(1, false, { ...POLICY, baseMs: 3 }, () => 0.7), 3, 'rounded to whole ms (2.55)')
  let calls = 0
  backoffDelay(2, true, POLICY, () => { calls++; return 0.3 })
  t.equal(calls, 1, 'one random draw per delay')
})

t.test('backoffDelay: zero or negative failure counts give the first delay', async t => {
  t.equal(backoffDelay(0, false, POLICY, top), 1000)
  t.equal(backoffDelay(-3, false, POLICY, top), 1000)
  t.equal(backoffDelay(0, true, POLICY, top), 30_000)
})

t.test('backoffDelay: the exponent stops at 30 doublings, so huge counts stay finite', async t => {
  const uncapped: BackoffPolicy = { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER, credentialMs: 1, credentialMaxMs: Number.MAX_SAFE_INTEGER }
  t.equal(backoffDelay(31, false, uncapped, top), 2 ** 30)
  t.equal(backoffDelay(32, false, uncapped, top), 2 ** 30, 'no further growth')
  t.equal(backoffDelay(1e9, true, uncapped, top), 2 ** 30)
  t.equal(backoffDelay(30, false, uncapped, top), 2 ** 29, 'still growing just before')
  t.equal(backoffDelay(Number.MAX_SAFE_INTEGER, false, POLICY, top), 60_000)
})

t.test('DEFAULT_BACKOFF: 1 s doubling to 60 s; credential errors 30 s doubling to 5 min', async t => {
  t.same(DEFAULT_BACKOFF, { baseMs: 1000, maxMs: 60_000, credentialMs: 30_000, credentialMaxMs: 300_000 })
  t.equal(backoffDelay(100, false, DEFAULT_BACKOFF, top), 60_000)
  t.equal(backoffDelay(100, true, DEFAULT_BACKOFF, top), 300_000)
})

t.test('parseRetryAfter: delta seconds', async t => {
  t.equal(parseRetryAfter('120', T0), 120_000)
  t.equal(parseRetryAfter('0', T0), 0)
  t.equal(parseRetryAfter('007', T0), 7000, 'leading zeros')
  t.equal(parseRetryAfter(' 7\t', T0), 7000, 'surrounding whitespace')
  t.equal(parseRetryAfter('86400', Date.parse('2030-01-01T00:00:00Z')), 86_400_000, 'independent of now')
})

t.test('parseRetryAfter: an HTTP date, relative to now, never negative', async t => {
  const now = Date.parse('2015-10-21T07:26:30Z')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now), 90_000, 'IMF-fixdate')
  t.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now), 90_000, 'obsolete RFC 850 form')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:26:30 GMT', now), 0, 'now')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now), 0, 'a past date means now, not a negative delay')
})

t.test('parseRetryAfter: absent or unparseable values are undefined', async t => {
  for (const v of [undefined, '', ' ', 'soon', '5s', '1e3', '12 abc', '0x10', 'Wed, 32 Foo 2015']) {
    t.equal(parseRetryAfter(v, T0), undefined, JSON.stringify(v))
  }
})

// Values that are neither delta-seconds nor an HTTP date once fell through to V8's lenient
// Date.parse, which reads e.g. '1.5', '-5' or '+5' as dates in 2001.
t.test('parseRetryAfter: signed or fractional seconds are not Retry-After values', async t => {
  for (const v of ['1.5', '-5', '+5']) {
    t.equal(parseRetryAfter(v, T0), undefined, JSON.stringify(v))
  }
})

// Date.parse reads the obsolete asctime form as local time, but every HTTP date is UTC
// (RFC 9110 §5.6.7).
t.test('parseRetryAfter: an asctime date is UTC whatever the local time zone', async t => {
  const tz = process.env.TZ
  t.teardown(() => { if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz })
  process.env.TZ = 'America/New_York'
  const now = Date.parse('2015-10-21T07:26:30Z')
  t.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now), 90_000, 'RFC 850 form says GMT: unaffected')
  t.equal(parseRetryAfter('Wed Oct 21 07:28:00 2015', now), 90_000, 'asctime form')
})
