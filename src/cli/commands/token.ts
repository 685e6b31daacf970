// `routegate token ENDPOINT`: the scope, action and expiry of the token the gateway would use for an
// endpoint, minted with the gateway's own registry and token code (or read from a running gateway's
// admin API); the token itself only with --reveal.
import { parseArgs } from 'node:util'
import pino from 'pino'
import { Agent, request } from 'undici'
import { loadConfig } from '../../config/load.js'
import { createRegistry } from '../../endpoints/registry.js'
import { readLimited } from '../../io/read-limited.js'
import { TokenBroker } from '../../tokens/broker.js'
import { tokenReport, type TokenReport } from '../../tokens/scope.js'
import { formatElapsed } from '../../workspace/wait.js'
import { UsageError } from '../../errors.js'
import { PROCESS_IO, type CommandIO } from './endpoints.js'

export const TOKEN_USAGE = `Usage:
  routegate token ENDPOINT --config FILE [--json] [--reveal]
      mints a token exactly as the gateway would (discovering the endpoint's id if the config has
      none) and prints its scope, action and expiry; the token itself only with --reveal
  routegate token ENDPOINT --admin URL [--json]
      what a running gateway holds, from its admin API (e.g. http://127.0.0.1:9464); never the token
      (with admin.keySha256 set, the admin key in ROUTEGATE_ADMIN_KEY)
`

export async function runToken (argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        admin: { type: 'string' },
        json: { type: 'boolean' },
        reveal: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message, TOKEN_USAGE)
  }
  const { values: v, positionals } = parsed
  if (v.help === true) {
    io.out(TOKEN_USAGE)
    return 0
  }
  const usage = (message: string): UsageError => new UsageError(message, TOKEN_USAGE)
  const [name, ...extra] = positionals
  if (name === undefined) throw usage('which endpoint? routegate token ENDPOINT --config FILE')
  if (extra.length > 0) throw usage(`unexpected argument '${String(extra[0]).slice(0, 40)}'`)
  const configPath = v.config ?? (v.admin !== undefined || io.env.ROUTEGATE_CONFIG === '' ? undefined : io.env.ROUTEGATE_CONFIG)
  if (v.admin !== undefined) {
    if (v.config !== undefined) throw usage('--admin or --config, not both')
    if (v.reveal === true) throw usage('--reveal is not for --admin: the admin API never gives out tokens (use --config FILE to mint one)')
    const report = await fromAdmin(v.admin, name, usage, io.env.ROUTEGATE_ADMIN_KEY)
    io.out(v.json === true ? JSON.stringify(report, null, 2) + '\n' : formatTokenReport(report, Date.now()))
    return 0
  }
  if (configPath === undefined) throw usage('--config FILE (to mint as the gateway would) or --admin URL (to ask a running gateway)')
  const { report, token } = await mint(configPath, name, io, usage)
  if (v.reveal === true) {
    io.err(`warning: printing a bearer token: anyone who sees it can ${report.action === 'manage_inference_endpoint' ? 'manage' : 'query'} ${name} until ${report.expiresAt ?? 'it expires'}; do not paste it into tickets or chats\n`)
  }
  const shown = v.reveal === true ? token : undefined
  io.out(v.json === true ? JSON.stringify({ ...report, ...(shown === undefined ? {} : { token: shown }) }, null, 2) + '\n' : formatTokenReport(report, Date.now(), shown))
  return 0
}

/** Mints through the gateway's registry and broker: the same spec, scope and discovery as a request would use. */
async function mint (configPath: string, name: string, io: CommandIO, usage: (m: string) => UsageError): Promise<{ report: TokenReport, token: string }> {
  const config = loadConfig(configPath, { env: io.env })
  const ep = config.endpoints.find(e => e.name === name)
  if (ep === undefined) throw usage(`no endpoint '${name.slice(0, 64)}' in ${configPath} (it has: ${config.endpoints.map(e => e.name).join(', ')})`)
  const broker = new TokenBroker({ logger: pino({ level: 'silent' }), fetchTimeoutMs: config.tokens.fetchTimeoutMs })
  const controlDispatcher = new Agent({ connections: 4 })
  try {
    const registry = createRegistry(config, { broker, controlDispatcher, fetchTimeoutMs: config.tokens.fetchTimeoutMs, now: Date.now })
    const route = await registry.resolve(name)
    const token = await broker.get(route.token)
    const { state, expiresAt } = broker.status(route.token.key)
    // A one-off mint: its state and expiry, not the broker's refresh bookkeeping.
    return { token, report: tokenReport(route, { state, expiresAt }) }
  } finally {
    broker.close()
    await controlDispatcher.close()
  }
}

async function fromAdmin (adminUrl: string, name: string, usage: (m: string) => UsageError, adminKey?: string): Promise<TokenReport> {
  let base: URL
  try {
    base = new URL(adminUrl)
  } catch {
    throw usage(`--admin '${adminUrl.slice(0, 80)}' is not a URL (e.g. http://127.0.0.1:9464)`)
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usage('--admin: an http:// or https:// URL')
  const url = `${base.origin}${base.pathname.replace(/\/+$/, '')}/tokens/${encodeURIComponent(name)}`
  let res
  try {
    // admin.keySha256 set on the gateway: the key comes from the environment, never a flag (ps shows flags).
    res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000, headers: adminKey === undefined || adminKey === '' ? {} : { authorization: `Bearer ${adminKey}` } })
  } catch (err) {
    throw new Error(`the admin API at ${base.origin} did not answer (${(err as { code?: string }).code ?? (err as Error).name})`, { cause: err })
  }
  const text = await readLimited(res.body)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`the admin API answered ${res.statusCode} without JSON (is ${base.origin} a routegate admin listener?)`)
  }
  if (res.statusCode !== 200) {
    throw new Error(`${typeof body.error_code === 'string' ? body.error_code : `HTTP ${res.statusCode}`}: ${typeof body.message === 'string' ? body.message : 'the admin API refused'}`)
  }
  return body as unknown as TokenReport
}

/** The report as aligned `field: value` lines; `token` only when revealed. */
export function formatTokenReport (r: TokenReport, nowMs: number, token?: string): string {
  const scope = r.scope.length === 0
    ? [['scope', r.endpointId === undefined ? '(not known yet: the endpoint is discovered on first use)' : '(none)']]
    : r.scope.map(s => ['scope', `${s.objectPath ?? '?'} ${s.actions.join(', ')}${s.objectType === undefined ? '' : ` (${s.objectType})`}`])
  const expires = r.expiresAt === undefined ? '-' : `${r.expiresAt} (${expiresIn(Date.parse(r.expiresAt) - nowMs)})`
  const pairs: string[][] = [
    ['endpoint', r.endpoint],
    ['workspace', r.workspace],
    ['endpoint id', r.endpointId === undefined ? '-' : `${r.endpointId} (${r.discovered ? 'discovered from the workspace' : 'from the config'})`],
    ['action', r.action],
    ...scope,
    ['state', r.state + (r.refreshing === true ? ' (refreshing)' : '') + (r.lastError === undefined ? '' : ` (last error: ${r.lastError})`)],
    ['expires', expires],
    ['token', token ?? 'hidden (--reveal prints it; the admin API never does)']
  ]
  const width = Math.max(...pairs.map(([k]) => (k ?? '').length))
  return pairs.map(([k, val]) => `${`${k ?? ''}:`.padEnd(width + 2)}${val ?? ''}`).join('\n') + '\n'
}

function expiresIn (ms: number): string {
  return ms <= 0 ? `expired ${formatElapsed(-ms)} ago` : `in ${formatElapsed(ms)}`
}
