import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { CALLER_KEY, startStack } from '../helpers/stack.js'
import { makePki, NO_OPENSSL } from '../helpers/pki.js'

// server.maxHeaderBytes must hold on the TLS listener (server.tls) exactly as on the plain one:
// an oversized header block is 431 HEADERS_TOO_LARGE and reaches no upstream.

t.test('server.maxHeaderBytes holds with and without server.tls', { skip: NO_OPENSSL }, async t => {
  const dir = t.testdir()
  makePki(dir)
  const agent = new Agent({ connect: { ca: readFileSync(join(dir, 'ca.crt')) } })
  t.teardown(() => agent.close())
  for (const tls of [false, true]) {
    const s = await startStack(t, {
      config: (doc) => {
        doc.server.maxHeaderBytes = 4096
        if (tls) doc.server.tls = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') }
      }
    })
    const name = tls ? 'TLS listener' : 'plain listener'
    const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json', 'x-big': 'a'.repeat(8000) },
      body: '{"inputs":[1]}'
    })
    const body = await res.body.text()
    t.equal(res.statusCode, 431, `${name}: 431`)
    t.same(JSON.parse(body), { error_code: 'HEADERS_TOO_LARGE', message: 'request headers exceed 4096 bytes or 100 fields', error: { message: 'request headers exceed 4096 bytes or 100 fields', type: 'invalid_request_error', code: 'HEADERS_TOO_LARGE' } }, `${name}: contract JSON`)
    t.equal(s.emu.stats().invocationHeaders.length, 0, `${name}: nothing upstream`)
  }
})
