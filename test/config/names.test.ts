// The name rules, written once (src/config/names.ts), and the emulator's copy of Databricks' rule.
import t from 'tap'
import { ENDPOINT_NAME } from '@routegate/databricks-emulator'
import { NAME_PATTERN, SERVING_ENDPOINT_NAME, isCreatableEndpointName, isName } from '../../src/config/names.js'
import { checkEndpointName } from '../../src/workspace/endpoint-spec.js'
import { invocationName } from '../../src/server/invocations.js'

t.test('routegate names: a letter or digit, then letters, digits, _ . -, at most 63', async t => {
  for (const ok of ['a', 'fraud-model', 'Fraud_Model.v2', '9', 'x'.repeat(63)]) t.ok(isName(ok), ok)
  for (const bad of ['', '_scoring', '-x', '.', '..', 'a/b', 'a b', 'a%2Fb', 'x'.repeat(64), 'é']) t.notOk(isName(bad), JSON.stringify(bad))
  t.equal(new RegExp(NAME_PATTERN).source, NAME_PATTERN, 'the schema pattern is the same rule')
})

t.test('an endpoint routegate creates: Databricks takes it and the config can name it', async t => {
  t.ok(isCreatableEndpointName('fraud_model'))
  t.notOk(isCreatableEndpointName('_scoring'), 'Databricks takes it, the config would not')
  t.ok(SERVING_ENDPOINT_NAME.test('_scoring'))
  t.notOk(isCreatableEndpointName('fraud.model'), 'the config takes it, Databricks would not')
  t.throws(() => checkEndpointName('_scoring'), { code: 'ROUTEGATE_ERR_INVALID_ARGUMENT' }, 'the CLI refuses it before any API call')
})

t.test('the emulator applies the same Databricks rule', async t => {
  t.equal(ENDPOINT_NAME.source, SERVING_ENDPOINT_NAME.source)
  t.equal(ENDPOINT_NAME.flags, SERVING_ENDPOINT_NAME.flags)
})

t.test('the invocation fast path takes exactly the plain names', async t => {
  t.equal(invocationName('/serving-endpoints/fraud-model/invocations?x=1'), 'fraud-model')
  t.equal(invocationName('/serving-endpoints/_scoring/invocations'), undefined, 'not a name: the router answers')
  t.equal(invocationName('/serving-endpoints/../invocations'), undefined)
})
