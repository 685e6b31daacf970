import t from 'tap'
import { startEmulator } from '../src/index.js'
import { dataPlaneToken, start } from './helpers/client.js'

t.test('stream: true sends max_tokens chunk events spaced over time, then [DONE]', async t => {
  const emu = await start(t, { streamIntervalMs: 60 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const t0 = Date.now()
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 4 })
  })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(res.headers.get('served-model-name'), 'feed-ads-1')

  const arrivals: number[] = []
  let text = ''
  const decoder = new TextDecoder()
  for await (const part of res.body!) {
    arrivals.push(Date.now() - t0)
    text += decoder.decode(part, { stream: true })
  }
  // Five events 60 ms apart span 240 ms; a buffered body would arrive in one read.
  t.ok(arrivals.length >= 2, `arrived in ${arrivals.length} reads, not one buffered body`)
  t.ok(arrivals.at(-1)! - arrivals[0]! >= 100, `spread over ${arrivals.at(-1)! - arrivals[0]!} ms`)

  const events = text.split('\n\n')
  t.equal(events.pop(), '', 'every event ends with a blank line')
  t.equal(events.pop(), 'data: [DONE]')
  t.equal(events.length, 4)
  const chunks = events.map(e => {
    t.match(e, /^data: \{/)
    return JSON.parse(e.slice('data: '.length))
  })
  t.same(chunks.map(c => c.object), Array(4).fill('chat.completion.chunk'))
  t.equal(new Set(chunks.map(c => c.id)).size, 1, 'one id per reply')
  t.same(chunks[0].choices[0].delta, { role: 'assistant', content: 't0' })
  t.equal(chunks.map(c => c.choices[0].delta.content).join(''), 't0 t1 t2 t3')
  t.same(chunks.map(c => c.choices[0].finish_reason), [null, null, null, 'stop'])
  t.same(emu.stats().invocations['feed-ads'], { 200: 1 })
})

t.test('closing the emulator mid-stream ends the stream instead of waiting for it', async t => {
  const emu = await startEmulator({ streamIntervalMs: 50 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 1000 })
  })
  const reader = res.body!.getReader()
  t.ok((await reader.read()).value, 'first chunk arrives')
  const started = Date.now()
  await emu.close()
  t.ok(Date.now() - started < 1000, 'close() does not wait for the 50 s stream')
  await t.rejects(async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      // drain until the cut surfaces
    }
  }, 'the client sees the stream cut')
})

t.test('a client that goes away stops the stream', async t => {
  const emu = await start(t, { streamIntervalMs: 5 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const ac = new AbortController()
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    signal: ac.signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 1000 })
  })
  const reader = res.body!.getReader()
  await reader.read()
  ac.abort()
  await new Promise(resolve => setTimeout(resolve, 50))
  // The emulator keeps answering normally afterwards.
  const again = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ inputs: [1] })
  })
  t.equal(again.status, 200)
})
