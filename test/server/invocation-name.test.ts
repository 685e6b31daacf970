import t from 'tap'
import { invocationName } from '../../src/server/invocations.js'

t.test('the fast path takes plain invocation URLs only; everything else goes to fastify', async t => {
  const table: Array<[string | undefined, string | undefined]> = [
    ['/serving-endpoints/fraud-model/invocations', 'fraud-model'],
    ['/serving-endpoints/a.b_c-1/invocations?x=1', 'a.b_c-1'],
    ['/serving-endpoints/fraud%2Dmodel/invocations', undefined],
    ['/serving-endpoints/../invocations', undefined],
    ['/serving-endpoints/./fraud-model/invocations', undefined],
    ['/serving-endpoints//invocations', undefined],
    ['/serving-endpoints/a/b/invocations', undefined],
    ['/serving-endpoints/fraud-model/invocations/', undefined],
    ['/serving-endpoints/-lead/invocations', undefined],
    [`/serving-endpoints/${'a'.repeat(64)}/invocations`, undefined],
    [`/serving-endpoints/${'a'.repeat(63)}/invocations`, 'a'.repeat(63)],
    ['//serving-endpoints/x/invocations', undefined],
    ['/SERVING-ENDPOINTS/x/INVOCATIONS', undefined],
    ['http://evil.example/serving-endpoints/x/invocations', undefined],
    [undefined, undefined]
  ]
  for (const [url, name] of table) t.equal(invocationName(url), name, String(url))
})
