// The Relay on its own (an undici Pool dispatching to a raw TCP origin, a plain node:http server
// as the caller's side): an event stream reaches the caller in whole events only, so a stream cut
// mid-event ends with the last whole event and then the gateway's error event.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { Pool, request } from 'undici'
import { createForwardState, type ForwardState } from '../../src/proxy/forwarder.js'
import { Relay, SSE_EVENT_LIMIT_BYTES } from '../../src/proxy/relay.js'
import { plainServer, rawOrigin } from './helpers/origins.js'

const ERROR_EVENT = 'data: {"error":{"message":"connection to the endpoint was reset","type":"api_error","code":"UPSTREAM_UNAVAILABLE"}}\n\n'

/** One chunk of a chunked body. */
const chunk = (s: string): string => `${Buffer.byteLength(s, 'latin1').toString(16)}\r\n${s}\r\n`

/**
 * A caller-side server whose requests are relayed to an origin that writes `parts` (chunks of
 * an event stream) a turn apart, then either ends the body or resets the connection.
 */
async function rig (t: Test, parts: string[], end: 'reset' | 'end'): Promise<{ url: string, states: ForwardState[] }> {
  const origin = await rawOrigin(t, (sock: Socket) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n')
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
    const inv = { req, res, endpoint: 'ep', bodyLimitBytes: 1024, headers: [], responseHeaders: ['x-request-id', 'rid'], requestId: 'rid', state }
    const relay = new Relay(inv, 'tok', () => false, () => performance.now(), 5000)
    pool.dispatch({ method: 'POST', path: '/', headers: [], body: null }, relay)
  })
  return { url, states }
}

/** The caller's bytes and whether the response ended cleanly. */
async function read (url: string): Promise<{ text: string, ended: 'clean' | 'aborted' }> {
  const res = await request(url, { method: 'POST', body: 'b' })
  let text = ''
  res.body.setEncoding('latin1')
  try {
    for await (const c of res.body) text += c as string
    return { text, ended: 'clean' }
  } catch {
    return { text, ended: 'aborted' }
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
