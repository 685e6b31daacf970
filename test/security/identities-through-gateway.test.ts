import { readFileSync } from 'node:fs'
import * as net from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { AUDIENCE, ISSUER, jwks, serveJwks, sign, signingKey } from '../callers/helpers/idp.js'
import { CALLER_KEY, OTHER_KEY, startStack, type ConfigDoc, type Stack } from '../helpers/stack.js'
import { makePki, NO_OPENSSL } from '../helpers/pki.js'
import { badTokens } from './helpers/tokens.js'

// Every way a caller can prove who it is, through a real gateway listener: API keys (and their
// rotation), JWTs checked against a JWKS served on 127.0.0.1, and client certificates (mTLS).

const NEW_KEY = 'rgk_test_rotated_key_00112233445566778899'
const BODY = '{"inputs":[1]}'

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, json: Record<string, unknown> }

async function post (s: Stack, endpoint: string, headers: Record<string, string>, dispatcher?: Dispatcher): Promise<Reply> {
  const res = await request(`${s.gatewayUrl}/serving-endpoints/${endpoint}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: BODY,
    ...(dispatcher === undefined ? {} : { dispatcher })
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> }
}

/** The access line of one request. */
function accessLine (s: Stack, requestId: string): Record<string, unknown> | undefined {
  return s.logs.map(l => JSON.parse(l) as Record<string, unknown>).find(l => l.msg === 'request completed' && l.requestId === requestId)
}

function withJwt (doc: ConfigDoc, jwksUrl: string): void {
  (doc as unknown as Record<string, unknown>).auth = { jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE } }
}

async function closedPort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise(resolve => srv.close(resolve))
  return port
}

t.test('API keys: as Bearer or X-Api-Key; during a rotation both keys work and keyIndex tells them apart', async t => {
  const s = await startStack(t, {
    config: (doc) => {
      const checkout = doc.callers[0] as Record<string, unknown>
      checkout.keySha256 = [sha256Hex(CALLER_KEY), sha256Hex(NEW_KEY)]
    }
  })
  const cases: Array<[string, Record<string, string>, number]> = [
    ['key-bearer', { authorization: `Bearer ${CALLER_KEY}` }, 0],
    ['key-bearer-lowercase-scheme', { authorization: `bearer ${CALLER_KEY}` }, 0],
    ['key-x-api-key', { 'x-api-key': CALLER_KEY }, 0],
    ['key-rotated-bearer', { authorization: `Bearer ${NEW_KEY}` }, 1],
    ['key-rotated-x-api-key', { 'x-api-key': NEW_KEY }, 1]
  ]
  for (const [id, headers, keyIndex] of cases) {
    const r = await post(s, 'fraud-model', { ...headers, 'x-request-id': id })
    t.equal(r.status, 200, `${id}: 200`)
    t.same(r.json, { predictions: [1] }, `${id}: predictions`)
    t.match(accessLine(s, id), { caller: 'checkout', via: 'key', keyIndex, status: 200 }, `${id}: logged as checkout, key #${keyIndex}`)
  }
  const other = await post(s, 'feed-ads', { authorization: `Bearer ${OTHER_KEY}`, 'x-request-id': 'key-other-caller' })
  t.equal(other.status, 200)
  t.match(accessLine(s, 'key-other-caller'), { caller: 'reports', via: 'key', keyIndex: 0 })
  t.equal(s.emu.stats().invocationHeaders.length, cases.length + 1, 'each reached the upstream once')
  for (const h of s.emu.stats().invocationHeaders) {
    t.notMatch(JSON.stringify(h), new RegExp(`${CALLER_KEY}|${NEW_KEY}|${OTHER_KEY}`), 'no caller key upstream')
  }
  t.notMatch(s.logs.join('\n'), new RegExp(`${CALLER_KEY}|${NEW_KEY}|${OTHER_KEY}`), 'no caller key in the logs')
})

t.test("JWTs signed by the IdP's key name the caller by sub or by jwtSubjects; bad ones get 401", async t => {
  const idp = await signingKey('RS256')
  const idpServer = await serveJwks(t, () => jwks(idp))
  const s = await startStack(t, {
    config: (doc) => {
      withJwt(doc, idpServer.url)
      ;(doc.callers[0] as Record<string, unknown>).jwtSubjects = ['checkout']
      ;(doc.callers[1] as Record<string, unknown>).jwtSubjects = ['svc-reports@idp.test']
    }
  })

  const bySub = await post(s, 'fraud-model', { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}`, 'x-request-id': 'jwt-by-name' })
  t.equal(bySub.status, 200, 'sub listed in jwtSubjects (here the caller\'s own name)')
  t.same(bySub.json, { predictions: [1] })
  t.match(accessLine(s, 'jwt-by-name'), { caller: 'checkout', via: 'jwt', status: 200 })

  const byAlias = await post(s, 'feed-ads', { authorization: `Bearer ${await sign(idp, { sub: 'svc-reports@idp.test' })}`, 'x-request-id': 'jwt-by-alias' })
  t.equal(byAlias.status, 200, 'sub listed in jwtSubjects')
  t.match(accessLine(s, 'jwt-by-alias'), { caller: 'reports', via: 'jwt', status: 200 })

  const aliasElsewhere = await post(s, 'fraud-model', { authorization: `Bearer ${await sign(idp, { sub: 'svc-reports@idp.test' })}` })
  t.equal(aliasElsewhere.status, 403, "the JWT's caller keeps its own allow-list")
  t.equal(aliasElsewhere.json.error_code, 'PERMISSION_DENIED')
  const keyCallerByName = await post(s, 'feed-ads', { authorization: `Bearer ${await sign(idp, { sub: 'reports' })}` })
  t.equal(keyCallerByName.status, 401, 'a caller with a key and jwtSubjects is not named by its bare name')
  t.equal(s.emu.stats().invocationHeaders.length, 2, 'only the two allowed requests reached the upstream')

  const bad = await badTokens(idp, 'checkout')
  const refusals: Array<[string, string, RegExp]> = [
    ['expired', bad.expired, /expired/],
    ['wrong audience', bad.wrongAudience, /audience/],
    ['wrong issuer', bad.wrongIssuer, /issuer/],
    ['alg none', bad.none, /algorithm 'none' not allowed/],
    ['HS256 with the public key', bad.hmacWithPublicKey, /algorithm 'HS256' not allowed/],
    ['no exp', bad.noExp, /no 'exp' claim/],
    ['forged under the kid', bad.forgedSameKid, /signature invalid/],
    ['unknown subject', bad.stranger, /subject/]
  ]
  for (const [name, token, reason] of refusals) {
    const r = await post(s, 'fraud-model', { authorization: `Bearer ${token}` })
    t.equal(r.status, 401, `${name}: 401`)
    t.equal(r.json.error_code, 'UNAUTHENTICATED', `${name}: UNAUTHENTICATED`)
    t.match(r.json.message, reason, `${name}: the message says why`)
    t.equal(r.headers['www-authenticate'], 'Bearer', `${name}: www-authenticate`)
    t.notMatch(JSON.stringify(r.json), token.split('.')[1] ?? token, `${name}: the token is not echoed`)
  }
  t.equal(s.emu.stats().invocationHeaders.length, 2, 'no refused JWT reached the upstream')
  t.equal(s.emu.stats().tokenRequests, 2, 'nor caused a Databricks token fetch')
})

t.test('JWKS unreachable for a fresh verification: 503 SERVICE_UNAVAILABLE, not 401; keys keep working', async t => {
  const idp = await signingKey('RS256')
  const dead = await closedPort()
  const s = await startStack(t, { config: (doc) => { withJwt(doc, `http://127.0.0.1:${dead}/.well-known/jwks.json`) } })
  const r = await post(s, 'fraud-model', { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}`, 'x-request-id': 'jwks-down' })
  t.equal(r.status, 503)
  t.equal(r.json.error_code, 'SERVICE_UNAVAILABLE')
  t.match(r.json.message, /identity provider keys unavailable/)
  t.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After')
  t.equal(r.headers['www-authenticate'], undefined, 'not a credential problem')
  t.match(accessLine(s, 'jwks-down'), { status: 503, error_code: 'SERVICE_UNAVAILABLE' })
  t.equal(s.emu.stats().invocationHeaders.length, 0, 'nothing upstream')
  t.equal(s.emu.stats().tokenRequests, 0, 'no Databricks token fetched')

  const key = await post(s, 'fraud-model', { authorization: `Bearer ${CALLER_KEY}` })
  t.equal(key.status, 200, 'API keys do not depend on the IdP')
})

t.test('JWKS failing after its keys were fetched: the cached keys keep verifying', async t => {
  const idp = await signingKey('RS256')
  const idpServer = await serveJwks(t, () => jwks(idp))
  const s = await startStack(t, { config: (doc) => { withJwt(doc, idpServer.url); (doc.callers[0] as Record<string, unknown>).jwtSubjects = ['checkout'] } })
  const first = await post(s, 'fraud-model', { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}` })
  t.equal(first.status, 200)
  idpServer.state.status = 500
  const second = await post(s, 'fraud-model', { authorization: `Bearer ${await sign(idp, { sub: 'checkout' })}` })
  t.equal(second.status, 200, 'served from the cached JWKS')
  t.equal(idpServer.state.hits, 1, 'the JWKS was fetched once')
})

t.test('mTLS through the real gateway listener: a verified client certificate names the caller', { skip: NO_OPENSSL }, async t => {
  const dir = t.testdir()
  makePki(dir)
  const file = (name: string) => readFileSync(join(dir, name))
  const s = await startStack(t, {
    config: (doc) => {
      doc.server.tls = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt') }
      ;(doc.callers[0] as Record<string, unknown>).mtlsSubjects = ['URI:spiffe://prod/ns/shop/sa/checkout']
    }
  })
  t.match(s.gatewayUrl, /^https:/)
  const agent = (client: { cert?: Buffer, key?: Buffer }) => {
    const a = new Agent({ connect: { ca: file('ca.crt'), ...client } })
    t.teardown(() => a.close())
    return a
  }
  const withCert = agent({ cert: file('client.crt'), key: file('client.key') })

  const ok = await post(s, 'fraud-model', { 'x-request-id': 'mtls-ok' }, withCert)
  t.equal(ok.status, 200, 'the certificate alone identifies checkout')
  t.same(ok.json, { predictions: [1] })
  t.match(accessLine(s, 'mtls-ok'), { caller: 'checkout', via: 'mtls', status: 200 })

  const none = await post(s, 'fraud-model', {}, agent({}))
  t.equal(none.status, 401, 'no certificate, no credential')
  t.equal(none.json.error_code, 'UNAUTHENTICATED')

  const rogue = await post(s, 'fraud-model', {}, agent({ cert: file('rogue.crt'), key: file('rogue.key') }))
  t.equal(rogue.status, 401, 'same subject, another CA: names no one')

  const stranger = await post(s, 'fraud-model', {}, agent({ cert: file('stranger.crt'), key: file('stranger.key') }))
  t.equal(stranger.status, 401, 'a valid certificate of no configured caller')
  t.match(stranger.json.message, /names no configured caller/)

  const wrongKey = await post(s, 'fraud-model', { authorization: 'Bearer rgk_wrong' }, withCert)
  t.equal(wrongKey.status, 401, 'an explicit wrong key is refused even with a valid certificate')

  const keyOverCert = await post(s, 'feed-ads', { authorization: `Bearer ${OTHER_KEY}`, 'x-request-id': 'mtls-key-wins' }, withCert)
  t.equal(keyOverCert.status, 200)
  t.match(accessLine(s, 'mtls-key-wins'), { caller: 'reports', via: 'key' }, 'the explicit key decides, not the certificate')

  t.equal(s.emu.stats().invocationHeaders.length, 2, 'only the two identified requests reached the upstream')
})
