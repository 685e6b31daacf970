// Baseline: the least a Node proxy doing routegate's job can do. node:http in, one undici Pool
// out; the request body is buffered (as routegate does, to replay it after a 401), the
// caller's Authorization is replaced by a fixed bearer token, hop-by-hop headers are dropped both
// ways, and the upstream's response is piped back. No auth check, logging or metrics: what is
// left is the cost of HTTP in and out of Node, the floor routegate is compared with.
// Usage: node bench/baselines/bare.js --port N --upstream http(s)://host:port --token T [--ca FILE]
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { pipeline } from 'node:stream'
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
// Not forwarded upstream besides those: host and content-length are the pool's to set for the
// buffered body, and authorization is replaced.
const NOT_UPSTREAM = new Set([...HOP_BY_HOP, 'host', 'content-length', 'authorization'])

const pool = new Pool(values.upstream, {
  connections: Number(values.connections),
  keepAliveTimeout: 60_000,
  ...(values.ca === undefined ? {} : { connect: { ca: readFileSync(values.ca) } })
})
const authorization = `Bearer ${values.token}`

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('error', () => res.destroy())
  req.on('end', () => {
    const headers = { authorization }
    for (const [name, value] of Object.entries(req.headers)) {
      if (!NOT_UPSTREAM.has(name)) headers[name] = value
    }
    pool.request({ method: req.method, path: req.url, headers, body: Buffer.concat(chunks) }).then((up) => {
      const out = {}
      for (const [name, value] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(name)) out[name] = value
      }
      res.writeHead(up.statusCode, out)
      pipeline(up.body, res, () => {})
    }, (err) => {
      res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error_code: 'BAD_GATEWAY', message: err.message }))
    })
  })
})
server.listen(Number(values.port), '127.0.0.1')
process.once('SIGTERM', () => { server.close(); pool.close().then(() => process.exit(0)) })
