// Tables, details and the gateway config snippet printed for serving endpoints.
import t from 'tap'
import { parse } from 'yaml'
import { configSnippet, endpointDetails, endpointsTable, formatTable, stateOf } from '../../src/workspace/describe.js'
import type { ServingEndpoint } from '../../src/workspace/serving-endpoints.js'

const URL_ = 'https://0123abcd.serving.cloud.databricks.com/1444828305810485/serving-endpoints/fraud-model/invocations'
const fraud: ServingEndpoint = {
  name: 'fraud-model',
  id: '0123abcd',
  route_optimized: true,
  state: { ready: 'READY', config_update: 'NOT_UPDATING' },
  config: { served_entities: [{ name: 'fraud-3', entity_name: 'main.default.fraud', entity_version: '3', workload_type: 'CPU', workload_size: 'Small', scale_to_zero_enabled: true, state: { deployment: 'DEPLOYMENT_READY' } }] },
  data_plane_info: { query_info: { endpoint_url: URL_, authorization_details: '[]' } }
}
const features: ServingEndpoint = {
  name: 'features',
  id: '99',
  route_optimized: false,
  state: { ready: 'NOT_READY', config_update: 'IN_PROGRESS' },
  config: { served_entities: [{ entity_name: 'main.fs.user_spec' }] }
}

t.test('a table, sorted by name, columns aligned', async t => {
  t.equal(endpointsTable([fraud, features]), [
    'NAME         STATE                 ROUTE-OPTIMIZED  SERVES                ID',
    'features     NOT_READY (updating)  no               main.fs.user_spec     99',
    'fraud-model  READY                 yes              main.default.fraud@3  0123abcd',
    ''
  ].join('\n'))
  t.equal(endpointsTable([]), 'no serving endpoints in this workspace\n')
  t.equal(formatTable(['A', 'B'], [['long cell', '']]), 'A          B\nlong cell\n', 'no trailing spaces')
})

t.test('states', async t => {
  t.equal(stateOf({ name: 'x' }), 'UNKNOWN')
  t.equal(stateOf({ name: 'x', state: { ready: 'READY', config_update: 'UPDATE_FAILED' } }), 'READY (update failed)')
  t.equal(stateOf({ name: 'x', state: { ready: 'READY', config_update: 'UPDATE_CANCELED' } }), 'READY (update canceled)')
  t.equal(stateOf({ name: 'x', state: { ready: 'READY', config_update: 'SOMETHING_NEW' } }), 'READY (SOMETHING_NEW)')
})

t.test('details, one field a line', async t => {
  t.equal(endpointDetails(fraud), [
    'name:            fraud-model',
    'id:              0123abcd',
    'state:           READY',
    'route optimized: yes',
    `url:             ${URL_}`,
    'serves:          main.default.fraud@3 (CPU Small, scales to zero, DEPLOYMENT_READY)',
    ''
  ].join('\n'))
  t.match(endpointDetails(features), /url: +\(none: not route optimized\)/)
})

t.test('the snippet is YAML the config accepts: url and id once known, else discovery', async t => {
  t.same(parse(configSnippet(fraud, 'prod')), { endpoints: [{ name: 'fraud-model', workspace: 'prod', endpointId: '0123abcd', url: URL_ }] })
  const pending = configSnippet({ ...fraud, data_plane_info: undefined }, 'prod')
  t.same(parse(pending), { endpoints: [{ name: 'fraud-model', workspace: 'prod' }] })
  t.match(pending, /# no url yet: the gateway discovers the url and id/)
  t.same(parse(configSnippet({ ...fraud, id: '12345' }, 'true')), { endpoints: [{ name: 'fraud-model', workspace: 'true', endpointId: '12345', url: URL_ }] }, 'values YAML would read as other types are quoted')
})
