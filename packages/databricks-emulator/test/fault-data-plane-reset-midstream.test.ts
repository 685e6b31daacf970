import t from 'tap'
import { dataPlaneToken, start } from './helpers/client.js'

t.test('resetAfterChunks sends N chunks, then resets the connection: no [DONE], the record says reset', async t => {
  const emu = await start(t, { streamIntervalMs: 5 })
  const token = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.dataPlane({ endpoint: 'feed-ads', resetAfterChunks: 2, times: 1 })
  const res = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 10 })
  })
  t.equal(res.status, 200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const err = await (async () => {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true })
    } catch (e) {
      return e
    }
  })()
  t.ok(err, 'the client sees the stream fail')
  t.equal(text.split('\n\n').filter(e => e.startsWith('data: {')).length, 2, 'exactly two chunks arrived')
  t.notMatch(text, /\[DONE\]/)
  const record = await emu.streamEnded(res.headers.get('x-request-id')!)
  t.equal(record.state, 'reset')
  t.equal(record.chunkSentAt.length, 2)

  const again = await fetch(emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 })
  })
  t.match(await again.text(), /data: \[DONE\]\n\n$/, 'times: 1 - the next stream is whole')
})

t.test('resetAfterChunks on a JSON answer cuts it after the head and half the body', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ resetAfterChunks: 0, times: 1 })
  const res = await fetch(emu.endpointUrl('fraud-model'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ inputs: [[1, 2], [3, 4]] })
  })
  t.equal(res.status, 200)
  t.equal(res.headers.get('served-model-name'), 'fraud-model-1')
  await t.rejects(res.text(), 'the body never completes')
  t.same(emu.stats().invocations['fraud-model'], { reset: 1 })
})

t.test('cutMidEvent sends half of the next event\'s data line, then resets; sseLineEnd shapes the events', async t => {
  const emu = await start(t, { streamIntervalMs: 5, endpoints: [{ name: 'crlf', sseLineEnd: 'crlf' }] })
  const token = await dataPlaneToken(emu, 'crlf')
  emu.faults.dataPlane({ endpoint: 'crlf', resetAfterChunks: 1, cutMidEvent: true, times: 1 })
  const res = await fetch(emu.endpointUrl('crlf'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 4 })
  })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  await t.rejects((async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true })
  })(), 'the stream fails')
  const [first, rest] = text.split('\r\n\r\n')
  t.match(first, /^data: \{"id":"chatcmpl-/, 'one whole event, CRLF-ended')
  t.ok(rest !== undefined && rest.startsWith('data: {"id":"chatcmpl-') && !/[\r\n]/.test(rest), `then part of a data line: ${String(rest).slice(0, 40)}…`)
  t.throws(() => JSON.parse(String(rest).slice(6)), 'the second event is cut short')
  t.equal((await emu.streamEnded(res.headers.get('x-request-id')!)).state, 'reset')

  const whole = await fetch(emu.endpointUrl('crlf'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 })
  })
  const body = await whole.text()
  t.match(body, /\r\n\r\ndata: \[DONE\]\r\n\r\n$/)
  t.notMatch(body.replaceAll('\r\n', ''), /[\r\n]/, 'every line ends with CRLF')
})

t.test('cutMidEvent without resetAfterChunks is refused', async t => {
  const emu = await start(t)
  t.throws(() => emu.faults.dataPlane({ cutMidEvent: true }), /cutMidEvent needs resetAfterChunks/)
})
