// Baseline: the fastest correct Node proxy for routegate's job, the ceiling routegate is compared
// with. node:http in, one undici Pool out through `dispatch` with a handler of its own: the
// caller's body is streamed up as it arrives, the caller's Authorization is replaced by a fixed
// bearer token, hop-by-hop headers are dropped both ways, and the upstream's status, headers and
// body chunks are written straight into the ServerResponse (with backpressure: the upstream is
// paused while the caller's socket is full). No Readable in between, no promise per request, no
// auth check, logging or metrics: what is left is the cost of HTTP in and out of Node.
// Usage: node bench/baselines/bare.js --port N --upstream http(s)://host:port --token T [--ca FILE]
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    upstream: { type: 'string' },
    token: { type: 'string' },
    ca: { type: 'string' },
    connections: { type: 'string', default: '128' }
  }
})

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade'
])
// Not forwarded upstream besides those: host is the pool's to set, and authorization is replaced.
// content-length goes up as the caller sent it (the body is streamed, not re-framed).
const NOT_UPSTREAM = new Set([...HOP_BY_HOP, 'host', 'authorization'])

const pool = new Pool(values.upstream, {
  connections: Number(values.connections),
  keepAliveTimeout: 60_000,
  ...(values.ca === undefined ? {} : { connect: { ca: readFileSync(values.ca) } })
})
const authorization = `Bearer ${values.token}`

/** One request's undici handler: the response goes straight into `res`. */
class Relay {
  constructor (req, res) {
    this.req = req
    this.res = res
    this.controller = null
    this.started = false
    this.onDrain = () => this.controller?.resume()
  }

  onRequestStart (controller) {
    this.controller = controller
    if (this.res.destroyed) controller.abort(new Error('caller gone'))
  }

  onResponseStart (controller, status, headers) {
    const out = []
    for (const name in headers) {
      if (HOP_BY_HOP.has(name)) continue
      const v = headers[name]
      if (typeof v === 'string') out.push(name, v)
      else for (const x of v) out.push(name, x)
    }
    this.started = true
    this.res.writeHead(status, out)
  }

  onResponseData (controller, chunk) {
    if (!this.res.write(chunk)) {
      controller.pause()
      this.res.once('drain', this.onDrain)
    }
  }

  onResponseEnd () {
    this.res.end()
  }

  onResponseError (_controller, err) {
    if (this.started) {
      this.res.destroy()
      return
    }
    this.res.writeHead(502, ['content-type', 'application/json'])
    this.res.end(JSON.stringify({ error_code: 'BAD_GATEWAY', message: err.message }))
  }
}

const server = createServer((req, res) => {
  const headers = ['authorization', authorization]
  for (const name in req.headers) {
    if (NOT_UPSTREAM.has(name)) continue
    const v = req.headers[name]
    if (typeof v === 'string') headers.push(name, v)
    else for (const x of v) headers.push(name, x)
  }
  const relay = new Relay(req, res)
  // The caller leaving cancels the upstream request, so its pool connection is freed.
  res.once('close', () => { if (!res.writableFinished) relay.controller?.abort(new Error('caller gone')) })
  req.once('error', () => res.destroy())
  // Bodiless requests send none; every other body is streamed up from the IncomingMessage.
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined
  pool.dispatch({ method: req.method, path: req.url, headers, body: hasBody ? req : null }, relay)
})
server.listen(Number(values.port), '127.0.0.1')
process.once('SIGTERM', () => { server.close(); pool.close().then(() => process.exit(0)) })
