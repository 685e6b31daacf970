// A token endpoint (or whatever answers at its URL) that misbehaves: far Retry-After values,
// reflected requests, absurd lifetimes, bad tokens, huge bodies. A scripted server stands in
// front of the emulator's real token endpoint and either forwards to it or answers itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { fakeClock, sleep, startStack } from '../helpers/stack.js'

type Script = (req: IncomingMessage, body: string, res: ServerResponse, forward: () => Promise<{ status: number, json: Record<string, unknown> }>) => void | Promise<void>

/** A token URL whose every answer `script` decides; `forward()` asks the emulator's real endpoint. */
async function scriptedTokenUrl (t: Test, emuTokenUrl: () => string, script: { current: Script }): Promise<{ url: string, calls: () => number }> {
  let calls = 0
  const server = createServer((req, res) => {
    calls++
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => {
      const forward = async (): Promise<{ status: number, json: Record<string, unknown> }> => {
        const r = await request(emuTokenUrl(), { method: 'POST', headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/x-www-form-urlencoded' }, body })
        return { status: r.statusCode, json: await r.body.json() as Record<string, unknown> }
      }
      Promise.resolve(script.current(req, body, res, forward)).catch(() => res.destroy())
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oidc/v1/token`, calls: () => calls }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}
const passThrough: Script = async (_req, _body, res, forward) => { const f = await forward(); json(res, f.status, f.json) }

/**
 * The gateway and emulator behind the scripted token URL, on one fake clock: tests move it past
 * a backoff or the one-mint-per-second slot instead of sleeping.
 */
async function stackBehind (t: Test, script: { current: Script }, tokens: Record<string, unknown> = {}) {
  let emuUrl = ''
  const token = await scriptedTokenUrl(t, () => `${emuUrl}/oidc/v1/token`, script)
  const clock = fakeClock()
  const s = await startStack(t, {
    now: clock.now,
    config: (doc, emu) => {
      emuUrl = emu.url
      Object.assign(doc.tokens, tokens)
      for (const w of doc.workspaces) w.tokenUrl = token.url
    }
  })
  return { s, token, clock }
}

t.test('a far Retry-After (999999999 s, or a date in 2100) is cut to backoffMaxMs: the key recovers', async t => {
  for (const far of ['999999999', 'Fri, 01 Jan 2100 00:00:00 GMT']) {
    const script = { current: ((_q, _b, res) => { json(res, 503, { error: 'temporarily_unavailable' }, { 'retry-after': far }) }) as Script }
    const { s, token, clock } = await stackBehind(t, script, { backoffMaxMs: 1000 })
    const refused = await s.invoke('fraud-model')
    t.equal(refused.status, 503)
    t.equal(refused.json().error_code, 'TOKEN_UNAVAILABLE')
    t.equal(refused.headers['retry-after'], '1', `${far}: the callers' Retry-After is capped too`)
    script.current = passThrough
    clock.advance(1100)
    const ok = await s.invoke('fraud-model')
    t.equal(ok.status, 200, `${far}: served again within backoffMaxMs`)
    t.ok(token.calls() <= 3, `${token.calls()} token requests`)
  }
})

t.test('an endpoint that refuses every token: a few mints over 50 requests, its 403 passed to callers', async t => {
  const { s, token, clock } = await stackBehind(t, { current: passThrough })
  t.equal((await s.invoke('fraud-model')).status, 200)
  const before = token.calls()
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 403 })
  const statuses = new Set<number>()
  // 50 requests 20 ms apart on the fake clock: one second, however slow the machine.
  for (let i = 0; i < 50; i++) {
    statuses.add((await s.invoke('fraud-model')).status)
    clock.advance(20)
  }
  const mints = token.calls() - before
  t.same([...statuses], [403], 'the endpoint\'s own 403 every time')
  t.ok(mints >= 1 && mints <= 4, `${mints} mints for 50 refused requests over one second`)
})

t.test('a token endpoint that reflects the request leaks it to no caller, no /readyz, no log', async t => {
  const script = {
    current: ((req, body, res) => {
      json(res, 400, { error: `bad ${String(req.headers.authorization)}`, error_description: `you sent ${body} with ${String(req.headers.authorization)}` })
    }) as Script
  }
  const { s } = await stackBehind(t, script)
  const secret = s.emu.principals[0]?.clientSecret ?? ''
  const basic = Buffer.from(`${s.emu.principals[0]?.clientId ?? ''}:${secret}`).toString('base64')
  const r = await s.invoke('fraud-model')
  t.equal(r.status, 503)
  t.match(r.json().message, /\(invalid_request\)$/, 'a code from the fixed list, not the endpoint\'s words')
  const readyz = await (await request(`${s.adminUrl}/readyz`)).body.text()
  await sleep(50)
  for (const [where, text] of [['the caller', r.text], ['/readyz', readyz], ['the log', s.logs.join('\n')]] as const) {
    t.notMatch(text, secret, `no client secret in ${where}`)
    t.notMatch(text, basic, `no Basic credential in ${where}`)
    t.notMatch(text, basic.slice(0, 12), `not even part of it in ${where}`)
  }
  t.match(readyz, /invalid_request/)
  t.ok(s.logs.some(l => l.includes('it said: bad Basic ********')), 'the log keeps the endpoint\'s words, secrets masked')
})

t.test('absurd lifetimes and bad tokens are invalid_response; a 1e13 s lifetime is cut to 24 h', async t => {
  let mutate: (j: Record<string, unknown>) => void = () => {}
  const script = { current: (async (_q, _b, res, forward) => { const f = await forward(); mutate(f.json); json(res, f.status, f.json) }) as Script }
  const { s, clock } = await stackBehind(t, script, { backoffMaxMs: 1000 })
  const bad: Array<[string, (j: Record<string, unknown>) => void]> = [
    ['CR/LF in the token', j => { j.access_token = 'abc\r\nX-Injected: 1' }],
    ['a non-latin1 token', j => { j.access_token = 'tøken☃' }],
    ['an empty token', j => { j.access_token = '' }],
    ['expires_in 0', j => { j.expires_in = 0 }],
    ['expires_in negative', j => { j.expires_in = -5 }],
    ['expires_in not a number', j => { j.expires_in = 'soon' }],
    ['expires_in missing', j => { delete j.expires_in }]
  ]
  for (const [name, m] of bad) {
    mutate = m
    clock.advance(1100) // past the previous failure's backoff and the one-mint-per-second slot
    const r = await s.invoke('fraud-model')
    t.equal(r.status, 503, name)
    t.match(r.json().message, /\(invalid_response\)$/, name)
  }
  mutate = j => { j.expires_in = 1e13 }
  clock.advance(1100)
  t.equal((await s.invoke('fraud-model')).status, 200, 'an endless lifetime is usable, cut to 24 h')
  const readyz = await request(`${s.adminUrl}/readyz`)
  t.equal(readyz.statusCode, 200, '/readyz answers, never 500')
  const expiresAt = Date.parse(((await readyz.body.json()) as { endpoints: Record<string, { expiresAt: string }> }).endpoints['fraud-model']?.expiresAt ?? '')
  t.ok(expiresAt <= clock.now() + 24 * 3600_000 + 1000, 'expiry within 24 h')
})

t.test('token responses over 1 MiB are refused without holding them: RSS stays flat', async t => {
  const script = {
    current: ((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 'a')
      let sent = 0
      const pump = (): void => {
        while (sent < 64 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) { res.once('drain', pump); return }
        }
        res.end()
      }
      res.on('close', () => { sent = Infinity })
      pump()
    }) as Script
  }
  const { s, clock } = await stackBehind(t, script, { backoffMaxMs: 1000 })
  global.gc?.()
  const before = process.memoryUsage().rss
  for (let i = 0; i < 3; i++) {
    const r = await s.invoke('fraud-model')
    t.equal(r.status, 503)
    t.match(r.json().message, /\(invalid_response\)$/)
    clock.advance(1100)
  }
  const grew = (process.memoryUsage().rss - before) / 1024 / 1024
  t.ok(grew < 48, `RSS grew ${grew.toFixed(1)} MiB for three 64 MiB answers`)
})
