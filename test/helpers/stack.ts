// Test fixture: the emulator plus a real routegate on 127.0.0.1, with captured log lines.
import { randomUUID } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { startEmulator, type RunningEmulator, type EmulatorOptions } from '@routegate/databricks-emulator'
import { sha256Hex } from '../../src/callers/keys.js'
import { parseConfig, type Config } from '../../src/config/load.js'
import { createLogger } from '../../src/server/logger.js'
import { createRoutegate, type Routegate, type RoutegateOptions } from '../../src/server/routegate.js'

export interface Teardown { teardown: (fn: () => unknown) => void }

/** Collects every log line written, for assertions (and secret greps). */
export function captureLogs (): { stream: Writable, lines: string[] } {
  const lines: string[] = []
  let partial = ''
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      const text = partial + chunk.toString('utf8')
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts.filter(l => l !== ''))
      cb()
    }
  })
  return { stream, lines }
}

export const CALLER_KEY = 'rgk_test_caller_key_0123456789abcdef'
export const OTHER_KEY = 'rgk_test_other_key_fedcba9876543210'

export interface StackOptions {
  emulator?: EmulatorOptions
  /** Edits the config document before it is parsed. */
  config?: (doc: ConfigDoc, emu: RunningEmulator) => void
  routegate?: Partial<Omit<RoutegateOptions, 'config' | 'logger'>>
  /** One clock for emulator and gateway, so tests can move time instead of sleeping. */
  now?: () => number
  /** More secrets the leak scan must not find in any output (e.g. subject tokens). */
  secrets?: () => string[]
}

/** A clock that only moves when told to (starts at the real time, so JWT times look sane). */
export function fakeClock (): { now: () => number, advance: (ms: number) => void } {
  let t = Date.now()
  return { now: () => t, advance: (ms) => { t += ms } }
}

export interface ConfigDoc {
  server: Record<string, unknown>
  admin: Record<string, unknown>
  log: Record<string, unknown>
  tokens: Record<string, unknown>
  workspaces: Array<Record<string, unknown>>
  endpoints: Array<Record<string, unknown>>
  callers: Array<Record<string, unknown>>
}

export interface Stack {
  emu: RunningEmulator
  rg: Routegate
  config: Config
  gatewayUrl: string
  adminUrl: string
  logs: string[]
  /** POSTs a body to an endpoint through the gateway as the test caller. */
  invoke: (endpoint: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string, json: () => any }>
}

/**
 * Emulator endpoints `fraud-model` and `feed-ads`; caller `checkout` (CALLER_KEY) may use both,
 * caller `reports` (OTHER_KEY) only `feed-ads`.
 */
export async function startStack (t: Teardown, opts: StackOptions = {}): Promise<Stack> {
  const clock = opts.now === undefined ? {} : { now: opts.now }
  // A test's fake clock drives both of the gateway's clocks.
  const clocks = opts.now === undefined ? {} : { now: opts.now, monotonic: opts.now }
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }], ...clock, ...opts.emulator })
  // One teardown, in order: record what the run showed the world, then close gateway and emulator.
  const live: { rg?: Routegate, adminUrl?: string } = {}
  const outputs: string[] = []
  t.teardown(async () => {
    if (live.rg !== undefined) {
      for (const path of ['/metrics', '/readyz']) {
        outputs.push(await request(`${live.adminUrl}${path}`).then(r => r.body.text(), () => ''))
      }
      recordForLeakScan(emu, doc, [...logs.lines, ...outputs], opts.secrets?.() ?? [])
      await live.rg.close()
    }
    await emu.close()
  })
  const principal = emu.principals[0]
  if (principal === undefined) throw new Error('no principal')
  const doc: ConfigDoc = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    tokens: { refreshJitterMs: 0 },
    workspaces: [{ name: 'emu', host: emu.url, clientId: principal.clientId, clientSecret: principal.clientSecret }],
    endpoints: Object.values(emu.endpoints).map(e => ({ name: e.name, workspace: 'emu', url: emu.endpointUrl(e.name), endpointId: e.id })),
    callers: [
      { name: 'checkout', keySha256: sha256Hex(CALLER_KEY), endpoints: ['*'] },
      { name: 'reports', keySha256: sha256Hex(OTHER_KEY), endpoints: ['feed-ads'] }
    ]
  }
  opts.config?.(doc, emu)
  const config = parseConfig(doc, { env: {} })
  const logs = captureLogs()
  const rg = createRoutegate({ config, logger: createLogger({ level: String(doc.log.level ?? 'info'), destination: logs.stream }), defaultMetrics: false, ...clocks, ...opts.routegate })
  live.rg = rg
  const { gatewayUrl, adminUrl } = await rg.listen()
  live.adminUrl = adminUrl
  return {
    emu,
    rg,
    config,
    gatewayUrl,
    adminUrl,
    logs: logs.lines,
    async invoke (endpoint, body = { dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3, 4]] } }, headers = {}) {
      const res = await request(`${gatewayUrl}/serving-endpoints/${endpoint}/invocations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body)
      })
      const text = await res.body.text()
      outputs.push(text, JSON.stringify(res.headers))
      return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
    }
  }
}

/** Where every stack leaves its secrets and outputs for test/leak-scan.mjs, run after the suite. */
export const LEAK_SCAN_DIR = fileURLToPath(new URL('../../.leak-scan/', import.meta.url))

function recordForLeakScan (emu: RunningEmulator, doc: ConfigDoc, outputs: string[], extra: string[]): void {
  const secrets = new Set<string>([CALLER_KEY, OTHER_KEY, ...extra])
  for (const p of emu.principals) secrets.add(p.clientSecret)
  for (const w of doc.workspaces) if (typeof w.clientSecret === 'string' && !w.clientSecret.startsWith('${')) secrets.add(w.clientSecret)
  for (const h of emu.stats().invocationHeaders) {
    const token = String(h.authorization ?? '').replace(/^Bearer /, '')
    if (token.length > 20) secrets.add(token)
  }
  mkdirSync(LEAK_SCAN_DIR, { recursive: true })
  writeFileSync(`${LEAK_SCAN_DIR}/${randomUUID()}.json`, JSON.stringify({ test: process.argv[1], secrets: [...secrets], outputs }))
}

/** A port on 127.0.0.1 that was free a moment ago (nothing listens on it now). */
export async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise(resolve => srv.close(resolve))
  return port
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
