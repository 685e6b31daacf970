import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { parseEmulatorArgs, runEmulatorCli, seededIdentities, USAGE } from '../src/index.js'

function sink (): { stream: Writable, text: () => string } {
  let text = ''
  return { stream: new Writable({ write (chunk, _enc, done) { text += String(chunk); done() } }), text: () => text }
}

t.test('flags become start options', async t => {
  t.same(parseEmulatorArgs([]), { help: false, options: { port: 8081, host: '127.0.0.1' } })
  const all = parseEmulatorArgs(['-p', '0', '--host', '0.0.0.0', '--seed', 's', '--workspace-id', '123', '--endpoint', 'a', '--endpoint', 'b=ff00',
    '--tls', '--tls-port', '0', '--tls-dir', '/tmp/d', '--stream-interval-ms', '2.5', '--config', 'x.json'])
  t.same(all, {
    help: false,
    configPath: 'x.json',
    options: {
      port: 0,
      host: '0.0.0.0',
      seed: 's',
      workspaceId: '123',
      endpoints: [{ name: 'a' }, { name: 'b', id: 'ff00' }],
      streamIntervalMs: 2.5,
      tls: { port: 0, dir: '/tmp/d' }
    }
  })
  t.same(parseEmulatorArgs(['--tls']).options.tls, { port: 8443 })
  const creds = parseEmulatorArgs(['--client-id', 'me', '--client-secret', 'pw']).options.principals
  t.same(creds, [{ clientId: 'me', clientSecret: 'pw', permissions: [{ endpoint: '*', actions: ['query_inference_endpoint', 'manage_inference_endpoint'] }] }])
  const half = parseEmulatorArgs(['--seed', 's', '--client-id', 'me']).options.principals
  t.same(half?.[0]?.clientSecret, seededIdentities('s').clientSecret, 'with a seed, the missing half is derived')
  t.equal(parseEmulatorArgs(['-h']).help, true)
  t.same(parseEmulatorArgs(['--empty']).options.endpoints, [], '--empty: no endpoints (not the defaults)')
  t.equal(parseEmulatorArgs([]).options.endpoints, undefined, 'without it, the defaults')
})

t.test('bad flags are usage errors', async t => {
  for (const [args, message] of [
    [['--port', 'x'], /--port must be 0..65535/],
    [['--port', ''], /--port must be 0..65535/],
    [['--client-id', 'me'], /go together/],
    [['--workspace-id', 'abc'], /--workspace-id must be digits/],
    [['--endpoint', '=x'], /NAME or NAME=ID/],
    [['--endpoint', 'a='], /NAME or NAME=ID/],
    [['--tls-port', '1'], /need --tls/],
    [['--stream-interval-ms=-1'], /non-negative/],
    [['--seed', ''], /must not be empty/],
    [['--frobnicate'], /Unknown option/],
    [['extra'], /positional/],
    [['--empty', '--endpoint', 'a'], /--empty and --endpoint contradict/]
  ] as Array<[string[], RegExp]>) {
    t.throws(() => parseEmulatorArgs(args), { code: 'EMULATOR_USAGE', message }, args.join(' '))
  }
})

t.test('runEmulatorCli starts the emulator from flags and a JSON options file, and prints how to reach it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-cli-'))
  const file = join(dir, 'emulator.json')
  writeFileSync(file, JSON.stringify({ endpoints: [{ name: 'from-file', task: 'llm/v1/chat' }], tokenTtlSeconds: 120, workspaceId: '7' }))
  const out = sink()
  const emu = await runEmulatorCli(['--port', '0', '--seed', 'cli', '--config', file, '--workspace-id', '99'], { stdout: out.stream }, { logger: false })
  t.ok(emu)
  t.teardown(() => emu!.close())
  t.equal(emu!.workspaceId, '99', 'flags win over the file')
  t.same(Object.keys(emu!.endpoints), ['from-file'])
  t.equal(emu!.endpoints['from-file']!.id, seededIdentities('cli').endpointId('from-file'))
  const p = emu!.principals[0]!
  t.match(out.text(), `Databricks emulator on ${emu!.url} (workspace id 99)`)
  t.match(out.text(), `clientId=${p.clientId} clientSecret=${p.clientSecret}`)
  t.match(out.text(), `endpoint from-file: id=${emu!.endpoints['from-file']!.id} url=${emu!.endpointUrl('from-file')}`)

  const help = sink()
  t.equal(await runEmulatorCli(['--help'], { stdout: help.stream }), undefined)
  t.equal(help.text(), USAGE)

  writeFileSync(file, '{"endpoints": [}')
  await t.rejects(runEmulatorCli(['--port', '0', '--config', file], { stdout: sink().stream }), { code: 'EMULATOR_USAGE', message: /is not JSON/ })
  writeFileSync(file, '{"port": 1}')
  await t.rejects(runEmulatorCli(['--port', '0', '--config', file], { stdout: sink().stream }), { message: /unknown option port/ })
  await t.rejects(runEmulatorCli(['--config', join(dir, 'missing.json')], { stdout: sink().stream }), { message: /cannot read --config .*ENOENT/ })
})
