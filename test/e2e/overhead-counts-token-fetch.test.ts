import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

t.test('a token fetch on a cache miss counts as gateway overhead, not upstream time', async t => {
  const s = await startStack(t)
  s.emu.faults.token({ latencyMs: 300 })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  // The exchange is recorded when its response closes: wait for the observation to land.
  let text = ''
  for (let i = 0; i < 50 && !/routegate_overhead_seconds_count\{endpoint="fraud-model"\} 1/.test(text); i++) {
    text = await (await request(`${s.adminUrl}/metrics`)).body.text()
  }
  const bucket = (name: string, le: string): number => Number(new RegExp(`${name}_bucket\\{le="${le}",endpoint="fraud-model"\\} (\\d+)`).exec(text)?.[1])
  t.equal(bucket('routegate_overhead_seconds', '0.25'), 0, 'overhead ≥ 250 ms: it includes the 300 ms token fetch')
  t.equal(bucket('routegate_overhead_seconds', '0.5'), 1)
  t.equal(bucket('routegate_upstream_duration_seconds', '0.25'), 1, 'the upstream itself answered quickly')
})
