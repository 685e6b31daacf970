// Raw HTTP/1.1 over node:net, for requests undici and node:http refuse to send or would normalise.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Teardown } from '../../helpers/stack.js'

export interface RawAnswer {
  /** Status of the first final (non-1xx) response; undefined when none arrived. */
  status: number | undefined
  /** Its header fields, names lower-cased (repeated fields joined with ', '). */
  headers: Record<string, string>
  /** Its body, de-chunked. */
  body: string
  /** Every byte received, for "nothing else came back" checks. */
  raw: string
  /** The gateway closed the connection (or we did, for `then: 'destroy'`). */
  closed: boolean
  /** ms from the first byte written to the answer (or close). */
  ms: number
}

export interface RawOptions {
  /** After writing: keep the connection open, half-close it, or destroy it at once. Default 'wait'. */
  then?: 'wait' | 'half-close' | 'destroy'
  /** Longest wait for an answer; default 2000 ms. */
  timeoutMs?: number
}

/** Host and port of a gateway URL. */
export function target (url: string): { host: string, port: number } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port) }
}

/** A fresh TCP connection to `url`'s host and port, destroyed at teardown (or already closed). */
async function connectRaw (t: Teardown, url: string): Promise<net.Socket> {
  const { host, port } = target(url)
  const sock = net.connect(port, host)
  t.teardown(() => { sock.destroy() })
  sock.on('error', () => {})
  await new Promise<void>((resolve) => { sock.once('connect', resolve); sock.once('close', () => resolve()) })
  return sock
}

/**
 * Writes `data` on a fresh connection and reads one response. Resolves once a whole response is
 * in (Content-Length or chunked), the connection closes, or timeoutMs passes; never rejects.
 */
export async function rawExchange (t: Teardown, url: string, data: string | Buffer, opts: RawOptions = {}): Promise<RawAnswer> {
  const sock = await connectRaw(t, url)
  const start = performance.now()
  let received = ''
  let closed = false
  const done = new Promise<void>(resolve => {
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1')
      if (parse(received).complete) resolve()
    })
    sock.on('close', () => { closed = true; resolve() })
  })
  sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  if (opts.then === 'destroy') {
    // Let the bytes leave before the reset.
    await new Promise<void>(resolve => { sock.write('', () => resolve()) })
    sock.destroy()
    return { status: undefined, headers: {}, body: '', raw: '', closed: true, ms: performance.now() - start }
  }
  if (opts.then === 'half-close') sock.end()
  await Promise.race([done, sleep(opts.timeoutMs ?? 2000)])
  const ms = performance.now() - start
  sock.destroy()
  const p = parse(received)
  return { status: p.status, headers: p.headers, body: p.body, raw: received, closed, ms }
}

interface Parsed { status: number | undefined, headers: Record<string, string>, body: string, complete: boolean }

/** The first final response in `text` (1xx interim responses skipped). */
export function parse (text: string): Parsed {
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) return { status: undefined, headers: {}, body: '', complete: false }
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
    rest = rest.slice(end + 4)
    if (status >= 100 && status < 200) continue
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const i = line.indexOf(':')
      const name = line.slice(0, i).trim().toLowerCase()
      const value = line.slice(i + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length'])
      return { status, headers, body: rest.slice(0, n), complete: rest.length >= n }
    }
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      let body = ''
      let at = 0
      for (;;) {
        const eol = rest.indexOf('\r\n', at)
        if (eol < 0) return { status, headers, body, complete: false }
        const size = parseInt(rest.slice(at, eol), 16)
        if (size === 0) return { status, headers, body, complete: true }
        body += rest.slice(eol + 2, eol + 2 + size)
        at = eol + 2 + size + 2
      }
    }
    return { status, headers, body: rest, complete: false }
  }
}

/**
 * Writes `parts` one every gapMs on one connection, stopping when the gateway answers or closes,
 * and gives up after timeoutMs.
 */
export async function trickle (t: Teardown, url: string, parts: string[], gapMs: number, timeoutMs: number): Promise<RawAnswer & { written: number }> {
  const sock = await connectRaw(t, url)
  const start = performance.now()
  let received = ''
  let closed = false
  let written = 0
  const done = new Promise<void>(resolve => {
    sock.on('data', (d: Buffer) => {
      received += d.toString('latin1')
      if (parse(received).complete) resolve()
    })
    sock.on('close', () => { closed = true; resolve() })
  })
  const timer = setInterval(() => {
    if (written < parts.length && !sock.destroyed) sock.write(parts[written++] as string)
  }, gapMs)
  t.teardown(() => { clearInterval(timer) })
  await Promise.race([done, sleep(timeoutMs)])
  clearInterval(timer)
  const ms = performance.now() - start
  sock.destroy()
  const p = parse(received)
  return { status: p.status, headers: p.headers, body: p.body, raw: received, closed, ms, written }
}

export interface Recorded { method: string, url: string, headers: IncomingHttpHeaders, body: string, complete: boolean }

/**
 * A bare upstream origin on 127.0.0.1 that records every request as it arrives (method, exact
 * target, headers, body) and answers a whole one like a model: `{"predictions":[0]}`.
 */
export async function recordingOrigin (t: Teardown): Promise<{ url: string, seen: Recorded[] }> {
  const seen: Recorded[] = []
  const server = createServer((req, res) => {
    // Recorded on arrival, so a request cut off mid-body is seen too (complete stays false).
    const entry: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', complete: false }
    seen.push(entry)
    req.setEncoding('latin1')
    req.on('data', (c: string) => { entry.body += c })
    req.on('end', () => {
      entry.complete = true
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"predictions":[0]}')
    })
    req.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, seen }
}
