// An endpoint discovered by a name the workspace does not have (a typo) is logged once as a
// warning naming the field to check, not only shown in /readyz; found again, it may warn again.
import t from 'tap'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('a typo in a discovered endpoint name warns once', async t => {
  const clock = fakeClock()
  const s = await startStack(t, {
    now: clock.now,
    config: (doc) => {
      doc.endpoints.push({ name: 'fraud-modle', workspace: 'emu' })
    }
  })
  const warnings = (): Array<Record<string, unknown>> => s.logs.map(l => JSON.parse(l) as Record<string, unknown>)
    .filter(l => l.level === 40 && l.endpoint === 'fraud-modle')
  for (let i = 0; i < 3; i++) {
    const r = await s.invoke('fraud-modle')
    t.equal(r.status, 404, `call ${i + 1}: the workspace has no such endpoint`)
    clock.advance(10_000) // past the registry's negative cache: each call asks the workspace again
  }
  const w = warnings()
  t.equal(w.length, 1, 'one warning for three failed look-ups')
  t.match(w[0], { remoteName: 'fraud-modle', workspace: 'emu', msg: /endpoint 'fraud-modle' does not exist in the workspace: check the endpoint's name \(or remoteName\) in the config/ })
  t.equal((await s.invoke('fraud-model')).status, 200, 'the right name is served, and not warned about')
  t.equal(s.logs.filter(l => l.includes('"endpoint":"fraud-model"') && l.includes('does not exist')).length, 0)
})
