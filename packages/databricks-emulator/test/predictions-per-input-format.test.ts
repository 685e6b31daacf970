import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('one deterministic prediction per row for every MLflow input format', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  const cases: Array<[string, unknown, number[]]> = [
    ['dataframe_split', { dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3, 'x'], [0.5, null]], index: [0, 1, 2] } }, [3, 3, 0.5]],
    ['dataframe_split without columns', { dataframe_split: { data: [[4]] } }, [4]],
    ['dataframe_records', { dataframe_records: [{ a: 1, b: 2 }, { a: 'x' }] }, [3, 0]],
    ['instances', { instances: [[1, [2, 3]], 4, { t: 5 }, 'text'] }, [6, 4, 5, 0]],
    ['inputs as rows', { inputs: [[1, 1], [2, 2]] }, [2, 4]],
    ['inputs as columns', { inputs: { a: [1, 2, 3], b: [10, 20] } }, [11, 22, 3]],
    ['inputs as one scalar row', { inputs: { a: 1, b: 2 } }, [3]],
    ['inputs as an empty object', { inputs: {} }, [0]],
    ['extra params are ignored', { inputs: [1], params: { temperature: 0.1 }, client_request_id: 'r1' }, [1]]
  ]
  for (const [name, body, predictions] of cases) {
    const res = await invoke(emu, 'fraud-model', body, token)
    t.equal(res.status, 200, name)
    t.same(res.body, { predictions }, name)
    t.equal(res.headers.get('served-model-name'), 'fraud-model-1', name)
    t.match(res.headers.get('content-type'), /^application\/json/, name)
  }
})

t.test('non-finite numbers (1e999 parses to Infinity) count as 0', async t => {
  const emu = await start(t)
  const res = await invoke(emu, 'fraud-model', '{"instances":[[1e999, 2], [-1e999]]}', await dataPlaneToken(emu, 'fraud-model'))
  t.same(res.body, { predictions: [2, 0] })
})

t.test('bodies that are not JSON are BAD_REQUEST', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  const broken = await invoke(emu, 'fraud-model', '{"inputs": [1', token)
  t.equal(broken.status, 400)
  t.same(broken.body, { error_code: 'BAD_REQUEST', message: 'Malformed JSON in request body.' })

  const empty = await invoke(emu, 'fraud-model', '', token)
  t.same(empty.body, { error_code: 'BAD_REQUEST', message: 'Malformed JSON in request body.' })

  const form = await invoke(emu, 'fraud-model', 'inputs=1', token, { 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(form.status, 400)
  t.same(form.body, { error_code: 'BAD_REQUEST', message: 'Content-Type must be application/json.' })

  const vendor = await invoke(emu, 'fraud-model', { inputs: [7] }, token, { 'content-type': 'application/vnd.api+json; charset=utf-8' })
  t.equal(vendor.status, 200, 'any +json media type is JSON')
  const upper = await invoke(emu, 'fraud-model', { inputs: [7] }, token, { 'content-type': 'Application/JSON' })
  t.equal(upper.status, 200, 'media types are case-insensitive')
  const jsonl = await invoke(emu, 'fraud-model', { inputs: [7] }, token, { 'content-type': 'application/jsonl' })
  t.equal(jsonl.status, 400, 'application/jsonl is not JSON')

  const noType = await fetch(emu.endpointUrl('fraud-model'), { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  t.equal(noType.status, 400)
})

t.test('JSON that is no known input is INVALID_PARAMETER_VALUE', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  const cases: Array<[string, unknown, string]> = [
    ['array body', [1, 2], 'The request body must be a JSON object.'],
    ['unknown keys', { foo: 1 }, 'Invalid input: expected exactly one of dataframe_split, dataframe_records, instances, inputs (or messages, prompt or input for chat, completions or embeddings), got 0.'],
    ['two formats', { inputs: [1], instances: [1] }, 'Invalid input: expected exactly one of dataframe_split, dataframe_records, instances, inputs (or messages, prompt or input for chat, completions or embeddings), got 2.'],
    ['dataframe_split as a list', { dataframe_split: [{ data: [[1]] }] }, 'dataframe_split must be an object whose data is an array of rows.'],
    ['dataframe_split rows not arrays', { dataframe_split: { data: [1] } }, 'dataframe_split must be an object whose data is an array of rows.'],
    ['dataframe_split bad columns', { dataframe_split: { columns: 'a', data: [[1]] } }, 'dataframe_split.columns must be an array.'],
    ['dataframe_records not objects', { dataframe_records: [[1]] }, 'dataframe_records must be an array of objects.'],
    ['instances not an array', { instances: 1 }, 'instances must be an array.'],
    ['inputs scalar', { inputs: 1 }, 'inputs must be an array or an object.']
  ]
  for (const [name, body, message] of cases) {
    const res = await invoke(emu, 'fraud-model', body, token)
    t.equal(res.status, 400, name)
    t.same(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message }, name)
  }
})

t.test('a body over 16 MB is refused with 413', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  const res = await invoke(emu, 'fraud-model', `{"inputs":["${'x'.repeat(16 * 1024 * 1024)}"]}`, token)
  t.equal(res.status, 413)
  t.equal(res.body.error_code, 'BAD_REQUEST')
  t.same(emu.stats().invocations['fraud-model'], { 413: 1 })
})
