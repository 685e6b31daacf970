import t from 'tap'
import { startStack, sleep } from '../helpers/stack.js'

t.test('steady traffic over several short token lifetimes never sees a 401', async t => {
  const ttl = 3
  const s = await startStack(t, { emulator: { tokenTtlSeconds: ttl } })
  const statuses = new Map<number, number>()
  const started = Date.now()
  const runMs = 4 * ttl * 1000
  // Bounded loop: one request every 25 ms for four token lifetimes.
  while (Date.now() - started < runMs) {
    const r = await s.invoke('fraud-model', { inputs: [1] })
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    await sleep(25)
  }
  t.same([...statuses.keys()], [200], `all 200 (${JSON.stringify([...statuses])})`)
  // A token is refreshed once half its lifetime is left: about one mint per 1.5 s here.
  const mints = s.emu.mintsFor('fraud-model')
  const perStaleWindow = runMs / (ttl * 1000 / 2)
  t.ok(mints >= perStaleWindow - 2 && mints <= perStaleWindow + 2, `mints ${mints} ≈ ${perStaleWindow}`)
  t.equal(s.emu.stats().invocations['fraud-model']?.['401'], undefined, 'the upstream never refused a token')
})
