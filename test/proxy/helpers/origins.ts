// Test upstreams: a raw TCP origin that answers whatever bytes a test scripts (invalid HTTP,
// resets, truncated bodies), and a plain node:http "gateway" that hands requests to a function.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import * as net from 'node:net'
import type { Teardown } from '../../helpers/stack.js'

/**
 * A TCP origin: `answer` gets each connection and the bytes of the first request head (up to
 * the blank line), and writes what it likes. Counts connections and heads seen.
 */
export async function rawOrigin (t: Teardown, answer: (sock: net.Socket, head: string) => void): Promise<{ url: string, heads: string[], connections: () => number }> {
  const heads: string[] = []
  let connections = 0
  const server = net.createServer(sock => {
    connections++
    sock.on('error', () => {})
    let buf = ''
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      sock.off('data', onData)
      const head = buf.slice(0, end)
      heads.push(head)
      answer(sock, head)
    }
    sock.on('data', onData)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const sockets = new Set<net.Socket>()
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  t.teardown(() => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  const { port } = server.address() as net.AddressInfo
  return { url: `http://127.0.0.1:${port}`, heads, connections: () => connections }
}

/** A plain node:http server (no fastify) whose requests go to `handle`; returns its URL. */
export async function plainServer (t: Teardown, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createHttpServer(handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const { port } = server.address() as net.AddressInfo
  return `http://127.0.0.1:${port}`
}
