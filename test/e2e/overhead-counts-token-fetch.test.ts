import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

t.test('a token fetch on a cache miss counts as gateway overhead, not upstream time', async t => {
  const s = await startStack(t)
  // A 1.5 s token fetch: the gap to the 1 s bucket edge below tells the two apart on a machine
  // too loaded to answer in milliseconds (an emulator answer takes about one quietly).
  s.emu.faults.token({ latencyMs: 1500 })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  // The exchange is recorded when its response closes: wait for the observation to land.
  let text = ''
  await waitFor(async () => {
    text = await (await request(`${s.adminUrl}/metrics`)).body.text()
    return /routegate_overhead_seconds_count\{endpoint="fraud-model"\} 1/.test(text)
  })
  const bucket = (name: string, le: string): number => Number(new RegExp(`${name}_bucket\\{le="${le}",endpoint="fraud-model"\\} (\\d+)`).exec(text)?.[1])
  t.equal(bucket('routegate_overhead_seconds', '1'), 0, 'overhead over 1 s: it includes the 1.5 s token fetch')
  t.match(text, /routegate_overhead_seconds_count\{endpoint="fraud-model"\} 1/, 'counted once')
  t.equal(bucket('routegate_upstream_duration_seconds', '1'), 1, 'the upstream time leaves the fetch out')
})
