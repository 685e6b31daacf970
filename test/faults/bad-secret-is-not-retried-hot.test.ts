import t from 'tap'
import { request } from 'undici'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('invalid_client: fetch attempts stay bounded over 30 s, the cause is reported once, never the secret', async t => {
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now, config: (doc) => { doc.workspaces[0]!.clientSecret = 'not-the-secret' } })
  for (let i = 0; i < 60; i++) { // 30 s at 2 requests/s, virtual time
    const r = await s.invoke('fraud-model', { inputs: [1] })
    t.equal(r.status, 503)
    clock.advance(500)
  }
  const attempts = s.emu.stats().tokenRequests
  t.ok(attempts >= 1 && attempts <= 3, `${attempts} attempts in 30 s`)
  const errors = s.logs.filter(l => l.includes('token fetch failed'))
  t.equal(errors.length, 1, 'logged once per cause')
  t.match(errors[0], /"workspace":"emu"/)
  t.match(errors[0], /"endpoint":"fraud-model"/)
  t.match(errors[0], /invalid_client/)
  const ready = await request(`${s.adminUrl}/readyz`)
  t.equal(ready.statusCode, 503)
  const body = await ready.body.text()
  t.match(body, /invalid_client/)
  t.notMatch(body + s.logs.join('\n'), 'not-the-secret')
})
