import t from 'tap'
import { request } from 'undici'
import { startStack, CALLER_KEY, OTHER_KEY } from '../helpers/stack.js'

t.test('no client secret, token or caller key appears in logs, error bodies, /metrics or /readyz', async t => {
  const s = await startStack(t, { config: (doc) => { doc.log.level = 'trace' } })
  const secret = s.emu.principals[0]!.clientSecret
  const seen: string[] = []
  const record = (r: { text: string, headers: Record<string, unknown> }): void => { seen.push(r.text, JSON.stringify(r.headers)) }

  record(await s.invoke('fraud-model', { inputs: [1] }))
  record(await s.invoke('feed-ads', { inputs: [1] }, { authorization: `Bearer ${OTHER_KEY}` }))
  record(await s.invoke('fraud-model', { inputs: [1] }, { authorization: `Bearer ${OTHER_KEY}` }))
  record(await s.invoke('fraud-model', { inputs: [1] }, { authorization: `Bearer ${CALLER_KEY}x` }))
  record(await s.invoke('nope', { inputs: [1] }))
  s.emu.revoke()
  record(await s.invoke('fraud-model', { inputs: [1] }))
  record(await s.invoke('fraud-model', { inputs: [1] }))
  s.emu.faults.dataPlane({ endpoint: 'feed-ads', reset: true, times: 1 })
  record(await s.invoke('feed-ads', { inputs: [1] }))
  s.emu.faults.token({ status: 401, error: 'invalid_client', times: 5 })
  s.emu.revoke()
  record(await s.invoke('feed-ads', { inputs: [1] }))
  record(await s.invoke('feed-ads', { inputs: [1] }))
  for (const path of ['/metrics', '/readyz', '/healthz']) {
    const r = await request(`${s.adminUrl}${path}`)
    seen.push(await r.body.text())
  }

  const tokens = new Set(s.emu.stats().invocationHeaders.map(h => String(h.authorization).replace(/^Bearer /, '')))
  t.ok(tokens.size >= 3, `collected ${tokens.size} tokens the gateway used`)
  t.ok(s.logs.length >= 10, `read ${s.logs.length} log lines`)
  const haystack = [...s.logs, ...seen]
  const needles: Array<[string, string]> = [['client secret', secret], ['caller key', CALLER_KEY], ['other caller key', OTHER_KEY], ...[...tokens].map((tok, i): [string, string] => [`token ${i}`, tok])]
  for (const [what, needle] of needles) {
    const hits = haystack.filter(h => h.includes(needle))
    t.equal(hits.length, 0, `${what} never appears`)
  }
  // The material really was there to leak: the access log names callers and the failing fetch.
  t.ok(s.logs.some(l => l.includes('"caller":"checkout"')))
  t.ok(s.logs.some(l => l.includes('token fetch failed')))
})
