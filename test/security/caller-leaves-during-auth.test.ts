// A caller that hangs up while its JWT is being checked (the IdP's keys are slow to come) must
// not keep a concurrency slot, an in-flight count or an upstream request.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { AUDIENCE, ISSUER, jwks, sign, signingKey } from '../callers/helpers/idp.js'
import { sleep, startStack } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

t.test('a caller gone during authentication frees its slot and sends nothing upstream', async t => {
  const idp = await signingKey('RS256')
  const slowJwks = createServer((_req, res) => {
    setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(jwks(idp))) }, 400)
  })
  await new Promise<void>(resolve => slowJwks.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { slowJwks.closeAllConnections(); slowJwks.close() })
  const s = await startStack(t, {
    config: (doc) => {
      ;(doc as unknown as Record<string, unknown>).auth = { jwt: { jwksUrl: `http://127.0.0.1:${(slowJwks.address() as AddressInfo).port}/jwks`, issuer: ISSUER, audience: AUDIENCE } }
      Object.assign(doc.callers[0] as Record<string, unknown>, { jwtSubjects: ['checkout'], limits: { maxConcurrent: 1 } })
    }
  })
  const auth = { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}`, 'content-type': 'application/json' }
  for (let i = 0; i < 3; i++) {
    const ac = new AbortController()
    const gone = request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, { method: 'POST', headers: auth, body: '{"inputs":[1]}', signal: ac.signal }).catch(() => 'aborted')
    await sleep(100)
    ac.abort()
    await gone
  }
  // The key fetches finish after the callers left; each gone caller's count is then released.
  const inflight = async (): Promise<string> => (await s.rg.admin.inject({ url: '/metrics' })).body
  t.ok(await waitFor(async () => /routegate_inflight_requests\{endpoint="fraud-model"\} 0/.test(await inflight())), 'the gone callers are no longer counted')
  const ok = await s.invoke('fraud-model', { inputs: [1] }, { authorization: auth.authorization })
  t.equal(ok.status, 200, 'the slot is free: not 429')
  t.equal(s.emu.stats().invocationHeaders.length, 1, 'only the last request reached the upstream')
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_inflight_requests\{endpoint="fraud-model"\} 0/, 'nothing left counted in flight')
})
