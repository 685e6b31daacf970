import t from 'tap'
import { authorize } from '../../src/callers/authorize.js'
import { toCaller } from '../../src/callers/caller.js'
import { callerConfig } from './helpers/idp.js'

t.test('a caller may use the endpoints it lists, with its actions', async t => {
  const c = toCaller(callerConfig({ name: 'checkout', endpoints: ['fraud', 'ads'] }))
  t.same(authorize(c, 'fraud', 'query_inference_endpoint'), { ok: true })
  t.same(authorize(c, 'ads'), { ok: true })
  t.same(authorize(c, 'search', 'query_inference_endpoint'), { ok: false, message: "caller 'checkout' may not use endpoint 'search'" })
  t.same(authorize(c, 'fraud', 'manage_inference_endpoint'),
    { ok: false, message: "caller 'checkout' may not use action 'manage_inference_endpoint' on endpoint 'fraud'" })
})

t.test("'*' allows every endpoint, not every action", async t => {
  const c = toCaller(callerConfig({ name: 'ops', endpoints: ['*'], actions: ['manage_inference_endpoint'] }))
  t.same(authorize(c, 'anything', 'manage_inference_endpoint'), { ok: true })
  t.equal(authorize(c, 'anything', 'query_inference_endpoint').ok, false)
})

t.test('callers built in code without actions get the default one', async t => {
  const cfg = callerConfig({ name: 'legacy' }) as unknown as Record<string, unknown>
  delete cfg.actions
  const c = toCaller(cfg as never)
  t.same([...c.actions], ['query_inference_endpoint'])
  t.ok(Object.isFrozen(c))
})
