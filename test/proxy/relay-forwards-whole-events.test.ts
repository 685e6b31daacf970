// The Relay on its own (an undici Pool dispatching to a raw TCP origin, a plain node:http server
// as the caller's side): an event stream reaches the caller in whole events only, so a stream cut
// mid-event ends with the last whole event and then the gateway's error event; an embeddings
// answer to a base64 request is read whole, re-encoded, and bounded.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { Pool, request } from 'undici'
import { createForwardState, type ForwardState } from '../../src/proxy/forwarder.js'
import { EMBEDDINGS_ANSWER_LIMIT_BYTES, float32Base64 } from '../../src/proxy/embeddings.js'
import { Relay, SSE_EVENT_LIMIT_BYTES } from '../../src/proxy/relay.js'
import { plainServer, rawOrigin } from './helpers/origins.js'

const ERROR_EVENT = 'data: {"error":{"message":"connection to the endpoint was reset","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n'

/** One chunk of a chunked body. */
const chunk = (s: string): string => `${Buffer.byteLength(s, 'latin1').toString(16)}\r\n${s}\r\n`

/**
 * A caller-side server whose requests are relayed to an origin that writes `parts` (chunks of
 * an event stream) a turn apart, then either ends the body or resets the connection.
 */
async function rig (t: Test, parts: string[], end: 'reset' | 'end', opts: { type?: string, embeddingsBase64?: boolean } = {}): Promise<{ url: string, states: ForwardState[] }> {
  const origin = await rawOrigin(t, (sock: Socket) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: ${opts.type ?? 'text/event-stream'}\r\nTransfer-Encoding: chunked\r\n\r\n`)
    let i = 0
    const next = (): void => {
      if (i < parts.length) {
        sock.write(chunk(parts[i++] as string))
        setTimeout(next, 20)
      } else if (end === 'end') {
        sock.end('0\r\n\r\n')
      } else {
        sock.resetAndDestroy()
      }
    }
    next()
  })
  const pool = new Pool(origin.url)
  t.teardown(() => pool.destroy())
  const states: ForwardState[] = []
  const url = await plainServer(t, (req: IncomingMessage, res: ServerResponse) => {
    const state = createForwardState()
    states.push(state)
    const inv = { req, res, endpoint: 'ep', bodyLimitBytes: 1024, headers: [], responseHeaders: ['x-request-id', 'rid'], requestId: 'rid', shape: 'databricks' as const, state, embeddingsBase64: opts.embeddingsBase64 }
    const relay = new Relay(inv, 'tok', () => false, () => performance.now(), 5000)
    pool.dispatch({ method: 'POST', path: '/', headers: [], body: null }, relay)
  })
  return { url, states }
}

/** The caller's bytes and whether the response ended cleanly. */
async function read (url: string): Promise<{ text: string, ended: 'clean' | 'aborted', status: number, length: string | undefined }> {
  const res = await request(url, { method: 'POST', body: 'b' })
  const head = { status: res.statusCode, length: res.headers['content-length'] as string | undefined }
  let text = ''
  res.body.setEncoding('latin1')
  try {
    for await (const c of res.body) text += c as string
    return { text, ended: 'clean', ...head }
  } catch {
    return { text, ended: 'aborted', ...head }
  }
}

t.test('LF events, cut mid data line: the partial event is withheld, the error event follows the last whole one', async t => {
  const r = await rig(t, ['data: {"a":1}\n\n', 'data: {"b":"unfinis'], 'reset')
  const got = await read(r.url)
  t.equal(got.ended, 'aborted')
  t.equal(got.text, `data: {"a":1}\n\n${ERROR_EVENT}`)
  t.equal(r.states[0]?.abort, 'upstream')
  t.equal(r.states[0]?.bytesOut, 'data: {"a":1}\n\n'.length, 'only the forwarded bytes are counted')
})

t.test('CRLF events, cut mid data line and between the CR and LF of a blank line', async t => {
  const first = await read((await rig(t, ['data: {"a":1}\r\n\r\n', 'data: {"b":"unfinis'], 'reset')).url)
  t.equal(first.text, `data: {"a":1}\r\n\r\n${ERROR_EVENT}`)
  // The CR of the blank line ends the event; its LF, in the next chunk, is forwarded with it.
  const split = await read((await rig(t, ['data: {"a":1}\r\n\r', '\ndata: {"b"'], 'reset')).url)
  t.equal(split.text, `data: {"a":1}\r\n\r\n${ERROR_EVENT}`)
})

t.test('an event split across chunks reaches the caller whole, once its blank line arrives', async t => {
  const r = await rig(t, ['data: {"a"', ':1}\n', '\ndata: {"b":2}\n\ndata: {"c"', ':3}\n\n'], 'end')
  const got = await read(r.url)
  t.equal(got.ended, 'clean')
  t.equal(got.text, 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: {"c":3}\n\n')
})

t.test('a clean end passes a last event without its blank line as the endpoint sent it', async t => {
  const got = await read((await rig(t, ['data: {"a":1}\n\n', 'data: [DONE]\n'], 'end')).url)
  t.equal(got.ended, 'clean')
  t.equal(got.text, 'data: {"a":1}\n\ndata: [DONE]\n')
})

t.test('an event longer than the bound fails the response; the events before it are kept', async t => {
  const big = 'x'.repeat(256 * 1024)
  const parts = ['data: {"a":1}\n\ndata: "', big, big, big, big, big]
  const r = await rig(t, parts, 'end')
  const got = await read(r.url)
  t.equal(got.ended, 'aborted')
  t.equal(got.text, `data: {"a":1}\n\ndata: {"error":{"message":"endpoint sent an event longer than ${SSE_EVENT_LIMIT_BYTES} bytes","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n`)
  t.equal(r.states[0]?.failure?.code, 'UPSTREAM_UNAVAILABLE')
})

t.test('a base64 embeddings answer of numbers is read whole and re-encoded, with its own length', async t => {
  const parts = ['{"object":"list","data":[{"index":0,"embedding":[0.5,', '-0.25]}],"usage":{"prompt_tokens":1,"total_tokens":1}}']
  const got = await read((await rig(t, parts, 'end', { type: 'application/json', embeddingsBase64: true })).url)
  const expected = JSON.stringify({ object: 'list', data: [{ index: 0, embedding: float32Base64([0.5, -0.25]) }], usage: { prompt_tokens: 1, total_tokens: 1 } })
  t.equal(got.text, expected)
  t.equal(got.length, String(expected.length))
  const plain = await read((await rig(t, parts, 'end', { type: 'application/json' })).url)
  t.equal(plain.text, parts.join(''), 'without the flag the answer passes as it came')
  const odd = await read((await rig(t, ['{"predictions":', '[1]}'], 'end', { type: 'application/json', embeddingsBase64: true })).url)
  t.equal(odd.text, '{"predictions":[1]}', 'an answer that is not an embeddings list passes unchanged')
  const text = await read((await rig(t, ['not json'], 'end', { type: 'text/plain', embeddingsBase64: true })).url)
  t.equal(text.text, 'not json', 'nor is a non-JSON answer touched')
})

t.test('a base64 embeddings answer cut or over the bound: a whole 502, nothing half-sent', async t => {
  const cut = await read((await rig(t, ['{"data":[{"embedding":[0.5,'], 'reset', { type: 'application/json', embeddingsBase64: true })).url)
  t.equal(cut.status, 502)
  t.match(JSON.parse(cut.text), { error_code: 'UPSTREAM_UNAVAILABLE', message: 'connection to the endpoint was reset' })
  const piece = '0.125,'.repeat(512 * 1024 / 6)
  const parts = ['{"data":[{"embedding":[', ...Array.from({ length: Math.ceil(EMBEDDINGS_ANSWER_LIMIT_BYTES / piece.length) + 1 }, () => piece), '1]}]}']
  const big = await read((await rig(t, parts, 'end', { type: 'application/json', embeddingsBase64: true })).url)
  t.equal(big.status, 502)
  t.match(JSON.parse(big.text), { error_code: 'UPSTREAM_UNAVAILABLE', message: `embeddings answer is larger than ${EMBEDDINGS_ANSWER_LIMIT_BYTES} bytes and cannot be encoded as base64: ask with encoding_format "float"` })
})
