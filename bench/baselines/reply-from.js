// Baseline: the off-the-shelf Fastify way to build this proxy, fastify + @fastify/reply-from on
// an undici pool, with the token added in rewriteRequestHeaders. Bodies are passed through as
// the raw stream, as @fastify/http-proxy does it (reply-from would re-serialise a parsed JSON
// body). No logging, no auth check: the framework's own cost, not a feature set.
// Usage: node bench/baselines/reply-from.js --port N --upstream http://host:port --token T
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    upstream: { type: 'string' },
    token: { type: 'string' },
    connections: { type: 'string', default: '128' }
  }
})
const authorization = `Bearer ${values.token}`

const app = Fastify({ logger: false })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (req, payload, done) => done(null, payload))
await app.register(replyFrom, {
  base: values.upstream,
  undici: { connections: Number(values.connections), pipelining: 1, keepAliveTimeout: 60_000 }
})
const rewriteRequestHeaders = (req, headers) => ({ ...headers, authorization })
app.all('/*', (req, reply) => reply.from(req.url, { rewriteRequestHeaders }))
await app.listen({ host: '127.0.0.1', port: Number(values.port) })
process.once('SIGTERM', () => { app.close().then(() => process.exit(0)) })
