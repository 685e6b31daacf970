import t from 'tap'
import { startStack } from '../helpers/stack.js'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const PARENT = `00-${TRACE}-b7ad6b7169203331-01`

t.test('hop mode: the caller\'s trace continues upstream with a new span id; its id is on every log line', async t => {
  const s = await startStack(t)
  const r = await s.invoke('fraud-model', { inputs: [1] }, { traceparent: PARENT, tracestate: 'congo=t61rcWkgMzE' })
  t.equal(r.status, 200)
  const up = s.emu.stats().lastInvocation?.headers
  t.match(up?.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`))
  t.not(up?.traceparent, PARENT, 'a new span id for the gateway hop')
  t.equal(up?.tracestate, 'congo=t61rcWkgMzE')
  const line = s.logs.find(l => l.includes('request completed'))
  t.match(line, `"traceId":"${TRACE}"`)

  await s.invoke('fraud-model', { inputs: [1] })
  const started = String(s.emu.stats().lastInvocation?.headers.traceparent)
  t.match(started, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'a trace is started when the caller sent none')
  t.match(s.logs.filter(l => l.includes('request completed')).at(-1), `"traceId":"${started.split('-')[1]}"`)

  await s.invoke('fraud-model', { inputs: [1] }, { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01', tracestate: 'x=1' })
  const replaced = s.emu.stats().lastInvocation?.headers
  t.notMatch(replaced?.traceparent, /^00-0{32}/, 'an invalid traceparent is replaced')
  t.equal(replaced?.tracestate, undefined, 'tracestate without a valid parent is dropped')
})

t.test('passthrough mode forwards traceparent as received', async t => {
  const s = await startStack(t, { config: (doc) => { (doc as any).tracing = { mode: 'passthrough' } } })
  await s.invoke('fraud-model', { inputs: [1] }, { traceparent: PARENT })
  t.equal(s.emu.stats().lastInvocation?.headers.traceparent, PARENT)
  await s.invoke('fraud-model', { inputs: [1] })
  t.equal(s.emu.stats().lastInvocation?.headers.traceparent, undefined)
})
