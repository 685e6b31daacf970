// `routegate endpoints` and `routegate token` in-process against the emulator: --json, a wait that
// runs out of time (124), usage errors, and a token for an endpoint the config leaves to discovery.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startEmulator } from '@routegate/databricks-emulator'
import { EXIT_TIMEOUT, runEndpoints, type CommandIO } from '../../src/cli/commands/endpoints.js'
import { runToken } from '../../src/cli/commands/token.js'

t.test('list, get and wait with --json; a wait past its timeout exits 124', async t => {
  const emu = await startEmulator({ readyDelayMs: 60_000, endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  const p = emu.principals[0]
  const out: string[] = []
  const err: string[] = []
  const io: CommandIO = {
    out: (s) => { out.push(s) },
    err: (s) => { err.push(s) },
    env: { DATABRICKS_HOST: emu.url, DATABRICKS_CLIENT_ID: p?.clientId, DATABRICKS_CLIENT_SECRET: p?.clientSecret },
    now: () => performance.now(),
    sleep: async (ms) => await new Promise(resolve => setTimeout(resolve, ms))
  }
  t.equal(await runEndpoints(['list', '--json'], io), 0)
  t.same(JSON.parse(out.pop() ?? '').map((e: { name: string }) => e.name), ['fraud-model'])
  t.equal(await runEndpoints(['get', 'fraud-model', '--json'], io), 0)
  t.match(JSON.parse(out.pop() ?? ''), { name: 'fraud-model', id: emu.endpoints['fraud-model']?.id, route_optimized: true, state: { ready: 'READY' } })

  t.equal(await runEndpoints(['create', 'slow', '--feature-spec', 'main.fs.slow_spec', '--json'], io), 0)
  t.match(JSON.parse(out.pop() ?? ''), { name: 'slow', state: { ready: 'NOT_READY' } })
  t.equal(await runEndpoints(['wait', 'slow', '--timeout', '1500ms'], io), EXIT_TIMEOUT)
  t.equal(out.pop(), 'slow: still NOT_READY (updating) after 2s: gave up waiting (--timeout)\n')
  t.match(err.join(''), /\[ +0s\] slow: NOT_READY \(updating\)/)

  for (const [argv, message] of [
    [['frobnicate'], /unknown endpoints command 'frobnicate'/],
    [['list', 'extra'], /list takes no name/],
    [['get', 'x', '--model', 'a.b.c'], /--model is for create/],
    [['wait', 'x', '--timeout', 'soon'], /--timeout 'soon'/],
    [['create', 'x', '--model', 'a.b.c', '--version', '1', '--timeout', '1m'], /--timeout goes with --wait/],
    [['list', '--bogus'], /Unknown option '--bogus'/],
    [['list'], /which workspace\?/]
  ] as const) {
    await t.rejects(runEndpoints([...argv], { ...io, env: argv[0] === 'list' && argv.length === 1 ? {} : io.env }), { name: 'UsageError', message }, argv.join(' '))
  }
})

t.test('token for an endpoint left to discovery: the id and scope come from the workspace', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  const p = emu.principals[0]
  const dir = mkdtempSync(join(tmpdir(), 'routegate-token-'))
  const file = join(dir, 'routegate.yaml')
  writeFileSync(file, JSON.stringify({
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: '${env:SECRET}' }],
    endpoints: [{ name: 'fraud', remoteName: 'fraud-model', workspace: 'emu' }],
    callers: [{ name: 'c', keySha256: 'a'.repeat(64), endpoints: ['*'] }]
  }))
  const out: string[] = []
  const io: CommandIO = { out: (s) => { out.push(s) }, err: () => {}, env: { SECRET: p?.clientSecret }, now: () => 0, sleep: async () => {} }
  t.equal(await runToken(['fraud', '--config', file, '--json'], io), 0)
  const id = emu.endpoints['fraud-model']?.id ?? ''
  const report = JSON.parse(out.pop() ?? '')
  t.match(report, { endpoint: 'fraud', workspace: 'emu', endpointId: id, discovered: true, state: 'valid', scope: [{ objectPath: `/serving-endpoints/${id}`, actions: ['query_inference_endpoint'] }] })
  t.notOk('token' in report, 'no token without --reveal')
  t.equal(emu.mintsFor('fraud-model'), 1)
  await t.rejects(runToken(['nope', '--config', file], io), { name: 'UsageError', message: /no endpoint 'nope' in .* \(it has: fraud\)/ })
  await t.rejects(runToken(['fraud'], { ...io, env: {} }), { name: 'UsageError', message: /--config FILE .* or --admin URL/ })
})
