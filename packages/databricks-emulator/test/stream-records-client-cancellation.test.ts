import t from 'tap'
import { dataPlaneToken, get, start } from './helpers/client.js'

t.test('a client leaving mid-stream is recorded as a cancellation, and the stream stops', async t => {
  const emu = await start(t, { streamIntervalMs: 20 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const ac = new AbortController()
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    signal: ac.signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 1000 })
  })
  const requestId = res.headers.get('x-request-id')!
  const reader = res.body!.getReader()
  await reader.read()
  ac.abort()
  const record = await emu.streamEnded(requestId)
  t.equal(record.state, 'cancelled')
  t.ok(record.endedAt! >= record.chunkSentAt.at(-1)!)
  t.ok(record.chunkSentAt.length < 1000)
  t.equal(record.doneSentAt, undefined)
  // No more chunks after the cancellation.
  await new Promise(resolve => setTimeout(resolve, 60))
  t.equal(emu.stream(requestId)!.chunkSentAt.length, record.chunkSentAt.length)
  const viaAdmin = await get(emu, `/_emulator/streams/${requestId}?waitMs=1000`)
  t.equal(viaAdmin.body.state, 'cancelled')
})

t.test('the emulator closing mid-stream is recorded as closed, not as a cancellation', async t => {
  const { startEmulator } = await import('../src/index.js')
  const emu = await startEmulator({ streamIntervalMs: 20 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ prompt: 'hi', stream: true, max_tokens: 1000 })
  })
  const reader = res.body!.getReader()
  await reader.read()
  const ended = emu.streamEnded()
  await emu.close()
  t.equal((await ended).state, 'closed')
  await t.rejects(async () => { for (let r = await reader.read(); !r.done; r = await reader.read()); })
})
