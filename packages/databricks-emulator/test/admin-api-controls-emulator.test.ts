import t from 'tap'
import { controlPlaneToken, dataPlaneToken, invoke, start, tokenRequest } from './helpers/client.js'

async function json (res: Response): Promise<unknown> {
  return res.status === 204 ? undefined : res.json()
}

t.test('faults can be set, listed and cleared over HTTP', async t => {
  const emu = await start(t)
  const admin = (method: string, path: string, body?: unknown) => fetch(`${emu.url}/_emulator${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  })
  const token = await dataPlaneToken(emu, 'fraud-model')

  const set = await admin('POST', '/faults', {
    token: { status: 429, retryAfter: '3' },
    dataPlane: [{ endpoint: 'fraud-model', status: 503, times: 1 }],
    coldStart: { endpoint: 'feed-ads', delayMs: 5 }
  })
  t.equal(set.status, 200)
  t.same(await json(set), {
    token: { status: 429, retryAfter: '3' },
    dataPlane: [{ endpoint: 'fraud-model', status: 503, times: 1 }],
    coldStart: [{ endpoint: 'feed-ads', delayMs: 5 }]
  })
  t.equal((await tokenRequest(emu, { grant_type: 'client_credentials' })).status, 429)
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 503)
  t.same(await json(await admin('GET', '/faults')), {
    token: { status: 429, retryAfter: '3' },
    dataPlane: [],
    coldStart: [{ endpoint: 'feed-ads', delayMs: 5 }]
  }, 'the one-shot data-plane fault is gone')

  t.equal((await admin('DELETE', '/faults')).status, 204)
  t.same(await json(await admin('GET', '/faults')), { dataPlane: [], coldStart: [] })

  const bad = await admin('POST', '/faults', { dataPlane: { status: 'soon' } })
  t.equal(bad.status, 400)
  t.same(await json(bad), { error_code: 'INVALID_PARAMETER_VALUE', message: 'fault field status is invalid: "soon"' })
  const badValues: unknown[] = [
    [1],
    { flood: {} },
    { token: 'x' },
    { token: { times: 0 } },
    { token: { latencyMs: -1 } },
    { token: { error: '' } },
    { token: { retryAfter: 3 } },
    { token: { down: 'yes' } },
    { dataPlane: { hang: 1 } },
    { dataPlane: { reset: 1 } },
    { dataPlane: { endpoint: '' } },
    { dataPlane: { status: 99 } },
    { coldStart: { delayMs: 'x' } },
    { coldStart: { delayMs: 1, status: 500 } },
    // An invalid later entry leaves earlier kinds unapplied too.
    { token: { status: 500 }, coldStart: [{ delayMs: 1 }, { delayMs: -1 }] }
  ]
  for (const body of badValues) t.equal((await admin('POST', '/faults', body)).status, 400, JSON.stringify(body))
  const notJson = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
  t.equal(notJson.status, 400)
  t.equal((await notJson.json() as { error_code: string }).error_code, 'BAD_REQUEST')
  t.same(await json(await admin('GET', '/faults')), { dataPlane: [], coldStart: [] })
})

t.test('stats, revoke and reset over HTTP', async t => {
  const emu = await start(t)
  const fraud = await dataPlaneToken(emu, 'fraud-model')
  const ads = await dataPlaneToken(emu, 'feed-ads')
  await controlPlaneToken(emu)
  await invoke(emu, 'fraud-model', { inputs: [1] }, fraud)

  const stats = await (await fetch(`${emu.url}/_emulator/stats`)).json() as ReturnType<typeof emu.stats>
  t.equal(stats.tokenRequests, 3)
  t.equal(stats.mints.total, 3)
  t.same(stats.invocations, { 'fraud-model': { 200: 1 } })

  const revoke = (body?: unknown) => fetch(`${emu.url}/_emulator/revoke`, {
    method: 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  })
  t.same(await (await revoke({ endpoint: 'fraud-model' })).json(), { revoked: 1 })
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, fraud)).status, 401)
  t.equal((await invoke(emu, 'feed-ads', { inputs: [1] }, ads)).status, 200)
  const unknown = await revoke({ endpoint: 'nope' })
  t.equal(unknown.status, 400)
  t.same(await unknown.json(), { error_code: 'INVALID_PARAMETER_VALUE', message: 'unknown endpoint nope' })
  t.same(await (await revoke()).json(), { revoked: 2 }, 'no body: revoke everything still live')

  const reset = await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' })
  t.equal(reset.status, 204)
  t.equal(emu.stats().tokenRequests, 0)
})
