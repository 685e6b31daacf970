// Budgeted hedging through a real gateway and the emulator on 127.0.0.1 (docs/beyond.md "Hedging").
import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

type S = Awaited<ReturnType<typeof startStack>>
const calls = (s: S, name: string): number => Object.values(s.emu.stats().invocations[name] ?? {}).reduce((a, b) => a + b, 0)
const counter = (metrics: string, result: string): number =>
  Number(new RegExp(`routegate_hedges_total\\{endpoint="fraud-model",result="${result}"\\} (\\d+)`).exec(metrics)?.[1] ?? 'NaN')

/** A seeded uniform generator (LCG), so the emulator's tail is the same at every run. */
function seeded (seed: number): () => number {
  let x = seed
  return () => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
}

function p (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number
}

async function run (s: S, n: number): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const started = performance.now()
    const r = await s.invoke('fraud-model', { inputs: [[i]] })
    ms.push(performance.now() - started)
    if (r.status !== 200) throw new Error(`status ${r.status}`)
  }
  return ms.sort((a, b) => a - b)
}

// 2 % of answers take 400 ms, the rest 5 ms: a p99 far above 20 times the p50. The hedge delay
// (80 ms) is well above the fast answers, so a loaded machine's jitter rarely spends the budget.
const TAIL = [{ ms: 5, weight: 98 }, { ms: 400, weight: 2 }]

t.test('against a tail 20x the p50, hedges cut the p99 by half or more within maxPercent extra requests', async t => {
  const N = 400
  const plain = await startStack(t, { emulator: { random: seeded(11) } })
  plain.emu.faults.dataPlane({ endpoint: 'fraud-model', delays: TAIL })
  // The budget is a share of recent requests: both stacks get 100 requests first.
  await run(plain, 100)
  const before = await run(plain, N)
  const hedged = await startStack(t, {
    emulator: { random: seeded(11) },
    config: (doc: any) => { doc.endpoints[0].hedge = { afterMs: 80, maxPercent: 5 } }
  })
  hedged.emu.faults.dataPlane({ endpoint: 'fraud-model', delays: TAIL })
  await run(hedged, 100)
  const after = await run(hedged, N)
  t.comment(`slowest: ${after.slice(-6).map(x => x.toFixed(0)).join(', ')} ms`)
  t.comment(`p50 ${p(before, 0.5).toFixed(1)} -> ${p(after, 0.5).toFixed(1)} ms; p99 ${p(before, 0.99).toFixed(1)} -> ${p(after, 0.99).toFixed(1)} ms`)
  t.ok(p(before, 0.99) >= 20 * p(before, 0.5) * 0.5, 'the endpoint has its tail')
  t.ok(p(after, 0.99) <= p(before, 0.99) / 2, 'the p99 is at least halved')
  const metrics = await (await request(`${hedged.adminUrl}/metrics`)).body.text()
  const sent = counter(metrics, 'sent')
  t.comment(['sent', 'won', 'wasted', 'budget_exhausted'].map(r => `${r} ${counter(metrics, r)}`).join(', '))
  t.ok(sent > 0 && sent <= (N + 100) * 0.05, `${sent} hedges for ${N + 100} requests`)
  t.equal(counter(metrics, 'won') + counter(metrics, 'wasted'), sent)
  t.ok(counter(metrics, 'won') > 0)
  // The emulator counts answers it finished: a cancelled loser never finishes.
  t.ok(calls(hedged, 'fraud-model') <= N + 100 + sent)
})

t.test('against an endpoint slow for every request, the budget stops hedging (counted)', async t => {
  const s = await startStack(t, { config: (doc: any) => { doc.endpoints[0].hedge = { afterMs: 5, maxPercent: 5 } } })
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 30 })
  await run(s, 60)
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.ok(counter(metrics, 'sent') <= 3, `${counter(metrics, 'sent')} sent`)
  t.ok(counter(metrics, 'budget_exhausted') >= 57, `${counter(metrics, 'budget_exhausted')} refused`)
  t.equal(calls(s, 'fraud-model'), 60 + counter(metrics, 'sent'))
})

t.test('a streamed request is never hedged (a slow plain one is, as a control)', async t => {
  const s = await startStack(t, { config: (doc: any) => { doc.endpoints[0].hedge = { afterMs: 150, maxPercent: 50 } } })
  // Fast requests in the window: the budget allows hedges, and most requests do not want one.
  await run(s, 20)
  const sent = async (): Promise<number> => counter(await (await request(`${s.adminUrl}/metrics`)).body.text(), 'sent')
  const before = await sent()
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 600, times: 1 })
  t.equal((await s.invoke('fraud-model', { inputs: [[1]] })).status, 200)
  t.equal(await sent(), before + 1, 'the control: a slow plain request is hedged')
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 600, times: 1 })
  const r = await s.invoke('fraud-model', { messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 })
  t.equal(r.status, 200)
  t.equal(await sent(), before + 1, 'the slow stream is not')
})
