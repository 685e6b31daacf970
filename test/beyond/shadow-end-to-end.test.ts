// Shadow traffic through a real gateway and the emulator on 127.0.0.1 (docs/beyond.md "Shadow traffic").
import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

type S = Awaited<ReturnType<typeof startStack>>
const calls = (s: S, name: string): number => Object.values(s.emu.stats().invocations[name] ?? {}).reduce((a, b) => a + b, 0)
const shadowing = (shadow: Record<string, unknown>) => ({
  config: (doc: any) => {
    doc.endpoints[0].shadow = { endpoint: 'feed-ads', percent: 100, ...shadow }
    // A hanging shadow must not hold its place for the default 300 s.
    doc.endpoints[1].timeoutMs = 2000
  }
})

/** Waits (bounded: 5 s) until `ok` holds; the shadow runs after the caller's answer. */
async function eventually (ok: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise(resolve => setTimeout(resolve, 50))
  return ok()
}

t.test('every sampled request is copied to the shadow with its own scoped token, answer dropped', async t => {
  const s = await startStack(t, shadowing({}))
  for (let i = 0; i < 20; i++) {
    const r = await s.invoke('fraud-model', { inputs: [[i]] })
    t.equal(r.status, 200)
    t.match(r.text, /predictions/)
  }
  t.ok(await eventually(() => calls(s, 'feed-ads') === 20), 'the shadow got 20 copies')
  // The emulator answers 403 to a token scoped to another endpoint: all 200 means its own token.
  t.same(s.emu.stats().invocations['feed-ads'], { 200: 20 })
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, 'routegate_shadow_requests_total{endpoint="fraud-model",result="sent"} 20')
  t.match(metrics, 'routegate_requests_total{endpoint="feed-ads",code="200"} 20')
})

for (const fault of [{ hang: true }, { reset: true }] as const) {
  t.test(`the shadow ${Object.keys(fault)[0] ?? ''}: no caller's answer fails or waits for it`, async t => {
    const s = await startStack(t, shadowing({ maxInFlight: 5 }))
    s.emu.faults.dataPlane({ endpoint: 'feed-ads', ...fault })
    const started = performance.now()
    for (let i = 0; i < 30; i++) t.equal((await s.invoke('fraud-model', { inputs: [[i]] })).status, 200)
    // Generous bound: 30 local requests; a shadow waited on would cost its 2 s timeout each.
    t.ok(performance.now() - started < 10_000)
    const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
    if (fault.hang === true) {
      t.match(metrics, 'routegate_shadow_requests_total{endpoint="fraud-model",result="sent"} 5')
      t.match(metrics, 'routegate_shadow_requests_total{endpoint="fraud-model",result="skipped_busy"} 25', 'skipped, never queued')
    } else {
      t.ok(await eventually(() => calls(s, 'feed-ads') > 0))
    }
  })
}

t.test('the shadow down (nothing listening): the caller never sees it; failures counted', async t => {
  const s = await startStack(t, {
    config: (doc: any) => {
      doc.endpoints[0].shadow = { endpoint: 'feed-ads', percent: 100 }
      doc.endpoints[1].url = 'http://127.0.0.1:9/serving-endpoints/feed-ads/invocations'
    }
  })
  for (let i = 0; i < 10; i++) t.equal((await s.invoke('fraud-model', { inputs: [[i]] })).status, 200)
  let failed = false
  for (let i = 0; i < 50 && !failed; i++) {
    const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
    failed = metrics.includes('routegate_shadow_requests_total{endpoint="fraud-model",result="failed"} 10')
    if (!failed) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.ok(failed, 'ten failed shadows counted')
})

t.test('percent: 10 sends 8-12 % of 1,000 requests; a body over maxBodyBytes is skipped', async t => {
  let seed = 7
  // A seeded generator (LCG): the sample is repeatable, and uniform enough for the bound.
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const s = await startStack(t, { ...shadowing({ percent: 10, maxBodyBytes: 64 }), routegate: { random } })
  for (let i = 0; i < 1000; i++) await s.invoke('fraud-model', { inputs: [[i]] })
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  const sent = Number(/routegate_shadow_requests_total\{endpoint="fraud-model",result="sent"\} (\d+)/.exec(metrics)?.[1])
  t.ok(sent >= 80 && sent <= 120, `${sent} sent`)
})

t.test('a body over maxBodyBytes is skipped and counted, never sent', async t => {
  const s = await startStack(t, shadowing({ percent: 100, maxBodyBytes: 64 }))
  t.equal((await s.invoke('fraud-model', { inputs: [Array(100).fill(1)] })).status, 200)
  const after = await (await request(`${s.adminUrl}/metrics`)).body.text()
  const count = (result: string): number => Number(new RegExp(`routegate_shadow_requests_total\\{endpoint="fraud-model",result="${result}"\\} (\\d+)`).exec(after)?.[1])
  t.equal(count('skipped_size'), 1)
  t.equal(count('sent'), 0)
  t.equal(calls(s, 'feed-ads'), 0, 'the shadow endpoint got nothing')
})
