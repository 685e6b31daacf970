import t from 'tap'
import { createIdSource, traceContext } from '../../src/proxy/trace.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const VALID = `00-${TRACE}-${PARENT}-01`
const HEX = /^[0-9a-f]+$/

/** Deterministic ids: `a`-filled for 16 bytes (trace ids), `b`-filled for 8 (span ids); records requests. */
function fakeIds () {
  const asked: number[] = []
  const ids = (bytes: number) => {
    asked.push(bytes)
    return (bytes === 16 ? 'a' : 'b').repeat(bytes * 2)
  }
  return { ids, asked }
}
const NEW_TRACE = 'a'.repeat(32)
const NEW_SPAN = 'b'.repeat(16)

t.test('hop: a valid traceparent continues the trace with a new span id and the same flags', async t => {
  const { ids, asked } = fakeIds()
  t.same(traceContext(VALID, 'vendor=abc', 'hop', ids), {
    traceId: TRACE,
    upstream: `00-${TRACE}-${NEW_SPAN}-01`,
    tracestate: 'vendor=abc'
  })
  t.same(asked, [8], 'only a span id was generated')
  t.same(traceContext(`00-${TRACE}-${PARENT}-00`, undefined, 'hop', ids), {
    traceId: TRACE,
    upstream: `00-${TRACE}-${NEW_SPAN}-00`,
    tracestate: undefined
  }, 'not sampled stays not sampled')
})

t.test('passthrough: a valid traceparent goes upstream exactly as received (trimmed)', async t => {
  const { ids, asked } = fakeIds()
  t.same(traceContext(VALID, 'k=v', 'passthrough', ids), { traceId: TRACE, upstream: VALID, tracestate: 'k=v' })
  t.same(traceContext(`  ${VALID}\t`, undefined, 'passthrough', ids), { traceId: TRACE, upstream: VALID, tracestate: undefined },
    'optional whitespace around the header value is not forwarded')
  t.same(asked, [], 'no ids generated')
})

t.test('surrounding whitespace does not make a traceparent invalid in hop mode', async t => {
  const { ids } = fakeIds()
  t.equal(traceContext(` ${VALID} `, undefined, 'hop', ids).traceId, TRACE)
})

t.test('no usable traceparent: a new, unsampled trace is started (hop) or none is sent (passthrough)', async t => {
  const hop = fakeIds()
  t.same(traceContext(undefined, undefined, 'hop', hop.ids), {
    traceId: NEW_TRACE,
    upstream: `00-${NEW_TRACE}-${NEW_SPAN}-00`,
    tracestate: undefined
  })
  t.same(hop.asked, [16, 8])
  const pass = fakeIds()
  t.same(traceContext(undefined, undefined, 'passthrough', pass.ids), {
    traceId: NEW_TRACE,
    upstream: undefined,
    tracestate: undefined
  }, 'passthrough still gets a trace id for the logs, but sends no traceparent')
  t.same(pass.asked, [16])
})

const invalid: Array<[string, unknown]> = [
  ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
  ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
  ['version ff', `ff-${TRACE}-${PARENT}-01`],
  ['version 00 with an extra field', `${VALID}-what-the-future-holds`],
  ['version 00 with a trailing dash', `${VALID}-`],
  ['uppercase trace id', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
  ['uppercase parent id', `00-${TRACE}-${PARENT.toUpperCase()}-01`],
  ['uppercase flags', `00-${TRACE}-${PARENT}-0A`],
  ['uppercase version', `0A-${TRACE}-${PARENT}-01`],
  ['trace id one digit short', `00-${TRACE.slice(1)}-${PARENT}-01`],
  ['trace id one digit long', `00-${TRACE}0-${PARENT}-01`],
  ['parent id one digit short', `00-${TRACE}-${PARENT.slice(1)}-01`],
  ['one-digit flags', `00-${TRACE}-${PARENT}-1`],
  ['non-hex digit', `00-${TRACE.slice(0, 31)}g-${PARENT}-01`],
  ['wrong separator', `00_${TRACE}_${PARENT}_01`],
  ['a higher version with data glued to the flags', `01-${TRACE}-${PARENT}-01xyz`],
  ['empty string', ''],
  ['garbage', 'not a traceparent'],
  ['repeated header (array)', [VALID]],
  ['a number', 42]
]

for (const [name, value] of invalid) {
  t.test(`invalid traceparent: ${name}`, async t => {
    const hop = fakeIds()
    t.same(traceContext(value, 'vendor=abc', 'hop', hop.ids), {
      traceId: NEW_TRACE,
      upstream: `00-${NEW_TRACE}-${NEW_SPAN}-00`,
      tracestate: undefined
    }, 'a new trace; tracestate dropped with the traceparent')
    const pass = fakeIds()
    t.same(traceContext(value, 'vendor=abc', 'passthrough', pass.ids), {
      traceId: NEW_TRACE,
      upstream: undefined,
      tracestate: undefined
    }, 'passthrough forwards neither')
  })
}

t.test('a higher version is parsed as 00 and may carry extra fields', async t => {
  const { ids } = fakeIds()
  const future = `01-${TRACE}-${PARENT}-01-ext-data`
  t.same(traceContext(future, 'k=v', 'hop', ids), {
    traceId: TRACE,
    upstream: `00-${TRACE}-${NEW_SPAN}-01`,
    tracestate: 'k=v'
  }, 'hop re-emits it as version 00 with its own span id')
  t.same(traceContext(future, undefined, 'passthrough', ids), { traceId: TRACE, upstream: future, tracestate: undefined },
    'passthrough forwards it untouched, extra fields included')
  t.equal(traceContext(`cc-${TRACE}-${PARENT}-01`, undefined, 'hop', ids).traceId, TRACE, 'any version below ff, no extra fields')
  t.equal(traceContext(`fe-${TRACE}-${PARENT}-01`, undefined, 'hop', ids).traceId, TRACE, 'fe is the last valid version')
})

t.test('ids that are only partly zero are valid', async t => {
  const { ids } = fakeIds()
  const trace = '0'.repeat(31) + '1'
  const parent = '0'.repeat(15) + '1'
  t.equal(traceContext(`00-${trace}-${parent}-01`, undefined, 'hop', ids).traceId, trace)
})

t.test('tracestate: forwarded up to 512 characters, dropped beyond, and only as a single string', async t => {
  const { ids } = fakeIds()
  const at = 'k=' + 'v'.repeat(510)
  t.equal(at.length, 512)
  t.equal(traceContext(VALID, at, 'hop', ids).tracestate, at, 'exactly 512 is kept')
  t.equal(traceContext(VALID, at + 'v', 'hop', ids).tracestate, undefined, '513 is dropped')
  t.equal(traceContext(VALID, at + 'v', 'hop', ids).traceId, TRACE, 'an oversize tracestate does not void the traceparent')
  t.equal(traceContext(VALID, at + 'v', 'passthrough', ids).tracestate, undefined, 'also in passthrough')
  t.equal(traceContext(VALID, at, 'passthrough', ids).tracestate, at)
  t.equal(traceContext(VALID, ['a=1', 'b=2'], 'hop', ids).tracestate, undefined, 'a repeated header (array) is dropped')
  t.equal(traceContext(VALID, 7, 'hop', ids).tracestate, undefined)
  t.equal(traceContext(VALID, 'a=1,b=2', 'hop', ids).tracestate, 'a=1,b=2', 'forwarded unchanged')
})

t.test('the default id source makes random, well-formed ids', async t => {
  const a = traceContext(undefined, undefined, 'hop')
  const b = traceContext(undefined, undefined, 'hop')
  t.match(a.traceId, /^[0-9a-f]{32}$/)
  t.match(a.upstream, new RegExp(`^00-${a.traceId}-[0-9a-f]{16}-00$`))
  t.not(a.traceId, b.traceId)
  t.not(a.upstream?.slice(36, 52), b.upstream?.slice(36, 52), 'span ids differ')
  const hop = traceContext(VALID, undefined, 'hop')
  t.match(hop.upstream, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`))
  t.not(hop.upstream?.slice(36, 52), PARENT, 'a new span id, not the caller\'s')
  const fresh = traceContext(hop.upstream, undefined, 'hop')
  t.equal(fresh.traceId, TRACE, 'what hop mode sends is itself a valid traceparent')
})

t.test('createIdSource: ids of the asked length in lower-case hex, all different', async t => {
  const next = createIdSource()
  const traces = Array.from({ length: 1000 }, () => next(16))
  const spans = Array.from({ length: 1000 }, () => next(8))
  t.same(traces.filter(id => id.length !== 32 || !HEX.test(id)), [], 'trace ids: 32 lower-case hex digits')
  t.same(spans.filter(id => id.length !== 16 || !HEX.test(id)), [], 'span ids: 16 lower-case hex digits')
  t.equal(new Set([...traces, ...spans]).size, 2000, 'no repeats across 1000 trace and 1000 span ids (several pool refills)')
})

t.test('createIdSource: a small pool refills when the next id does not fit', async t => {
  const next = createIdSource(24)
  const ids = [next(16), next(8), next(16), next(16), next(8), next(8), next(8), next(24)]
  t.same(ids.map(id => id.length), [32, 16, 32, 32, 16, 16, 16, 48], 'every id whole, across refills')
  t.equal(new Set(ids).size, ids.length, 'no bytes handed out twice')
  t.ok(ids.every(id => HEX.test(id)))
})

// Asking for more bytes than the pool holds once returned a short id (the slice was clamped).
t.test('createIdSource: an id larger than the pool is still whole', async t => {
  const next = createIdSource(4)
  t.equal(next(8).length, 16, 'an 8-byte id is 16 hex digits')
})
