import t from 'tap'
import { dataPlaneToken, get, start } from './helpers/client.js'

async function openStream (url: string, token: string, body: object, signal?: AbortSignal): Promise<Response> {
  return await fetch(url, {
    method: 'POST',
    ...(signal === undefined ? {} : { signal }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': 'client-1' },
    body: JSON.stringify(body)
  })
}

t.test('a completions stream: one chunk per token, a usage chunk on request, [DONE], and every send time recorded', async t => {
  const emu = await start(t, { endpoints: [{ name: 'gen', streamIntervalMs: 40 }] })
  const token = await dataPlaneToken(emu, 'gen')
  const res = await openStream(emu.endpointUrl('gen'), token, { prompt: 'a b', max_tokens: 4, stream: true, stream_options: { include_usage: true } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const requestId = res.headers.get('x-request-id')!
  t.match(requestId, /^[0-9a-f-]{36}$/)

  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const first = await reader.read()
  const firstAt = Date.now()
  let text = decoder.decode(first.value, { stream: true })
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true })

  const events = text.split('\n\n')
  t.equal(events.pop(), '')
  t.equal(events.pop(), 'data: [DONE]')
  const chunks = events.map(e => JSON.parse(e.slice('data: '.length)))
  t.equal(chunks.length, 5, 'four token chunks and a usage chunk')
  t.same(chunks.slice(0, 4).map(c => [c.object, c.choices[0].text, c.choices[0].finish_reason, c.usage]),
    [['text_completion', 't0', null, null], ['text_completion', ' t1', null, null], ['text_completion', ' t2', null, null], ['text_completion', ' t3', 'stop', null]])
  t.same(chunks[4].choices, [])
  t.same(chunks[4].usage, { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 })

  const record = await emu.streamEnded(requestId)
  t.match(record, { requestId, clientRequestId: 'client-1', endpoint: 'gen', kind: 'completions', plannedChunks: 5, state: 'completed' })
  t.equal(record.chunkSentAt.length, 5)
  for (let i = 1; i < 5; i++) t.ok(record.chunkSentAt[i]! - record.chunkSentAt[i - 1]! >= 35, `chunk ${i} sent about 40 ms after the one before`)
  t.ok(record.doneSentAt! >= record.chunkSentAt[4]!)
  t.ok(record.startedAt <= record.chunkSentAt[0]!)
  // The point of recording: a client can prove it saw the first chunk before the last was sent.
  t.ok(firstAt < record.chunkSentAt[4]! - 100, `first chunk read at ${firstAt}, last sent at ${record.chunkSentAt[4]}`)
  t.same(emu.stream(requestId), record)
  t.same(emu.streams(), [record])
  t.same(emu.stats().streams, [record])

  const viaAdmin = await get(emu, `/_emulator/streams/${requestId}`)
  t.same(viaAdmin.body, record)
  t.same((await get(emu, '/_emulator/streams')).body, [record])
  t.equal((await get(emu, '/_emulator/streams/nope')).status, 404)
  t.equal((await get(emu, `/_emulator/streams/${requestId}?waitMs=x`)).status, 400)
})

t.test('chat streams without include_usage carry no usage field; reset() forgets the records', async t => {
  const emu = await start(t, { streamIntervalMs: 1 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const res = await openStream(emu.endpointUrl('feed-ads'), token, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true })
  const chunks = (await res.text()).split('\n\n').filter(e => e.startsWith('data: {')).map(e => JSON.parse(e.slice(6)))
  t.equal(chunks.length, 2)
  t.notOk(chunks.some(c => 'usage' in c))
  const record = await emu.streamEnded()
  t.match(record, { kind: 'chat', plannedChunks: 2, state: 'completed' })
  emu.reset()
  t.same(emu.streams(), [])
  await t.rejects(emu.streamEnded('gone'), /no stream gone/)
})

t.test('streamEnded() waits for a live stream, and times out on one that does not end', async t => {
  const emu = await start(t, { streamIntervalMs: 200 })
  await t.rejects(emu.streamEnded(), /no stream has started/)
  const token = await dataPlaneToken(emu, 'feed-ads')
  const res = await openStream(emu.endpointUrl('feed-ads'), token, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, stream: true })
  const requestId = res.headers.get('x-request-id')!
  await t.rejects(emu.streamEnded(requestId, 50), /did not end within 50 ms/)
  const live = await get(emu, `/_emulator/streams/${requestId}?waitMs=30`)
  t.equal(live.body.state, 'streaming', 'the admin API answers the live record when the wait runs out')
  await res.body!.cancel()
})
