import t from 'tap'
import { request } from 'undici'
import { AUDIENCE, ISSUER, jwks, serveJwks, sign, signingKey } from '../callers/helpers/idp.js'
import { startStack, type Stack } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

// The gateway runs in this process, so stalling this event loop stalls the gateway's: with
// server.maxEventLoopDelayMs at 150 (above what a loaded machine's scheduling adds, well below
// the stall), a request arriving right after a 300 ms stall is shed with
// 503 before any work (no JWT check, no token, no upstream), and service resumes once the
// delay monitor's windows roll past the stall.

const P = '/serving-endpoints/fraud-model/invocations'

function stall (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy: the event loop is blocked */ }
}

async function post (s: Stack, headers: Record<string, string>, requestId: string) {
  const res = await request(`${s.gatewayUrl}${P}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: '{"inputs":[1]}'
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> }
}

t.test('a stalled event loop sheds new requests with 503 before any work, then recovers', async t => {
  const idp = await signingKey('RS256')
  const idpServer = await serveJwks(t, () => jwks(idp))
  const s = await startStack(t, {
    config: (doc) => {
      doc.server.maxEventLoopDelayMs = 150
      ;(doc as unknown as Record<string, unknown>).auth = { jwt: { jwksUrl: idpServer.url, issuer: ISSUER, audience: AUDIENCE } }
      ;(doc.callers[0] as Record<string, unknown>).jwtSubjects = ['checkout']
    }
  })
  const auth = { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}` }

  // Start calm: an unauthenticated probe gets 401 when nothing is shed (start-up may have lagged).
  let probes = 0
  const calm = await waitFor(async () => (await post(s, {}, `calm-${probes++}`)).status === 401, { intervalMs: 100 })
  t.ok(calm, 'the gateway is calm to begin with')

  // A fully valid request right after a stall: it would reach the IdP, the token endpoint and the
  // data plane if it were not shed. Bounded retries, in case the monitor's window misses a stall.
  let shed: Awaited<ReturnType<typeof post>> | undefined
  let before = { jwks: 0, tokens: 0, upstream: 0 }
  let after = before
  for (let attempt = 0; attempt < 5 && shed === undefined; attempt++) {
    before = { jwks: idpServer.state.hits, tokens: s.emu.stats().tokenRequests, upstream: s.emu.stats().invocationHeaders.length }
    stall(300)
    const r = await post(s, auth, `shed-${attempt}`)
    after = { jwks: idpServer.state.hits, tokens: s.emu.stats().tokenRequests, upstream: s.emu.stats().invocationHeaders.length }
    if (r.status === 503) shed = r
    else t.comment(`attempt ${attempt}: ${r.status}, stalling again`)
  }
  if (shed === undefined) return t.fail('no request was shed after five 300 ms stalls')
  t.equal(shed.json.error_code, 'SERVICE_UNAVAILABLE')
  t.equal(shed.json.message, 'gateway overloaded, try again shortly')
  t.equal(shed.json.request_id, shed.headers['x-request-id'])
  t.ok(Number(shed.headers['retry-after']) >= 1, 'Retry-After')
  t.same(after, before, 'the shed request reached neither the IdP, nor the token endpoint, nor the data plane')
  const line = s.logs.map(l => JSON.parse(l) as Record<string, unknown>).find(l => l.msg === 'request completed' && l.requestId === shed.headers['x-request-id'])
  t.match(line, { status: 503, error_code: 'SERVICE_UNAVAILABLE', endpoint: 'fraud-model' }, 'logged as shed, under the configured endpoint it named')
  t.equal(line?.caller, undefined, 'before authentication')

  // Recovery: once the windows roll past the stall, the same request goes through.
  let recovered: Awaited<ReturnType<typeof post>> | undefined
  let tries = 0
  await waitFor(async () => {
    const r = await post(s, auth, `recover-${tries++}`)
    if (r.status === 200) recovered = r
    return recovered !== undefined
  }, { intervalMs: 100 })
  t.ok(recovered !== undefined, `served again (after ${tries} tries)`)
  t.same(recovered?.json, { predictions: [1] })
  const metrics = await request(`${s.adminUrl}/metrics`).then(r => r.body.text())
  t.match(metrics, /routegate_requests_total\{endpoint="fraud-model",code="503"\} [1-9]/, 'shed requests are counted')
})
