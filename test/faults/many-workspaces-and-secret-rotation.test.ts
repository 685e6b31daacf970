import t from 'tap'
import { writeFileSync } from 'node:fs'
import { request } from 'undici'
import { startEmulator } from '@routegate/databricks-emulator'
import { fakeClock, startStack } from '../helpers/stack.js'

t.test('two workspaces with their own principals, cache keys and metric labels; a rotated secret file is used at the next fetch', async t => {
  const clock = fakeClock()
  const other = await startEmulator({ endpoints: [{ name: 'churn' }], principals: [{ clientId: 'sp-b', clientSecret: 'secret-b-v2', permissions: [{ endpoint: '*', actions: ['query_inference_endpoint'] }] }], now: clock.now })
  t.teardown(() => other.close())
  const dir = t.testdir({ 'secret-b': 'secret-b-v1\n' })
  const s = await startStack(t, {
    now: clock.now,
    config: (doc) => {
      doc.workspaces.push({ name: 'second', host: other.url, clientId: 'sp-b', clientSecret: `\${file:${dir}/secret-b}` })
      doc.endpoints.push({ name: 'churn', workspace: 'second', url: other.endpointUrl('churn'), endpointId: other.endpoints.churn!.id })
    }
  })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  const stale = await s.invoke('churn', { inputs: [1] })
  t.equal(stale.status, 503, 'the old secret is refused')
  t.match(stale.json().message, /invalid_client/)

  writeFileSync(`${dir}/secret-b`, 'secret-b-v2\n')
  clock.advance(61_000) // past the credential backoff
  const rotated = await s.invoke('churn', { inputs: [2] })
  t.equal(rotated.status, 200, 'the rotated secret is read at the next fetch, no restart')
  t.equal(other.mintsFor('churn'), 1)
  t.equal(s.emu.mintsFor('fraud-model'), 1)

  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_token_fetches_total\{workspace="emu",result="success"\} 1/)
  t.match(metrics, /routegate_token_fetches_total\{workspace="second",result="failure"\} 1/)
  t.match(metrics, /routegate_token_fetches_total\{workspace="second",result="success"\} 1/)
  t.notMatch(metrics + s.logs.join('\n'), /secret-b-v/)
})
