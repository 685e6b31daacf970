// The workspace a CLI command talks to: a config file's (`--config FILE [--workspace NAME]`) or
// one given by flags and the Databricks environment variables, with a workspace token source.
import pino from 'pino'
import { Agent } from 'undici'
import { isLoopback, loadWorkspaces, type WorkspaceConfig } from '../config/load.js'
import { TOKENS_DEFAULTS } from '../config/schema.js'
import { Secret } from '../config/secret.js'
import { TokenBroker } from '../tokens/broker.js'
import { workspaceTokens } from '../tokens/specs.js'
import { checkWorkspaceHost, hostProblem } from '../config/workspace-host.js'
import { UsageError } from '../errors.js'

export interface WorkspaceFlags {
  config?: string | undefined
  workspace?: string | undefined
  host?: string | undefined
  'client-id'?: string | undefined
  'client-secret'?: string | undefined
}

/** The name a workspace given by flags goes by in printed config snippets (unless --workspace names it). */
export const FLAGS_WORKSPACE_NAME = 'databricks'

/**
 * Picks the workspace: from `--config` (or ROUTEGATE_CONFIG when no --host is given), the one named
 * by --workspace or else the first; otherwise from --host/--client-id and DATABRICKS_CLIENT_SECRET
 * (DATABRICKS_HOST and DATABRICKS_CLIENT_ID stand in for the flags, as in Databricks' own tools).
 */
export function resolveWorkspace (flags: WorkspaceFlags, env: Record<string, string | undefined>, usage: string, warn: (line: string) => void): WorkspaceConfig {
  const byFlags = flags.host !== undefined || flags['client-id'] !== undefined || flags['client-secret'] !== undefined
  const configPath = flags.config ?? (byFlags || env.ROUTEGATE_CONFIG === '' ? undefined : env.ROUTEGATE_CONFIG)
  if (configPath !== undefined) {
    if (byFlags) throw new UsageError('--host, --client-id and --client-secret are for use without --config (the config file names the workspace)', usage)
    const workspaces = loadWorkspaces(configPath, { env })
    const ws = flags.workspace === undefined ? workspaces[0] as WorkspaceConfig : workspaces.find(w => w.name === flags.workspace)
    if (ws === undefined) throw new UsageError(`no workspace '${flags.workspace ?? ''}' in ${configPath} (it has: ${workspaces.map(w => w.name).join(', ')})`, usage)
    warnIfClear(ws.host, warn)
    return ws
  }
  const host = flags.host ?? nonEmpty(env.DATABRICKS_HOST)
  const clientId = flags['client-id'] ?? nonEmpty(env.DATABRICKS_CLIENT_ID)
  const secret = flags['client-secret'] ?? nonEmpty(env.DATABRICKS_CLIENT_SECRET)
  if (host === undefined && clientId === undefined) {
    throw new UsageError('which workspace? pass --config FILE [--workspace NAME], or --host URL --client-id ID with the secret in DATABRICKS_CLIENT_SECRET', usage)
  }
  if (host === undefined) throw new UsageError('--host URL (or DATABRICKS_HOST) is needed with --client-id', usage)
  if (clientId === undefined) throw new UsageError('--client-id ID (or DATABRICKS_CLIENT_ID) is needed with --host', usage)
  if (secret === undefined) throw new UsageError('the service principal\'s secret is needed: set DATABRICKS_CLIENT_SECRET', usage)
  if (flags['client-secret'] !== undefined) warn('warning: --client-secret is visible to every user of this machine (ps, shell history): prefer DATABRICKS_CLIENT_SECRET')
  const origin = workspaceOrigin(host, usage)
  warnIfClear(origin, warn)
  const name = flags.workspace ?? FLAGS_WORKSPACE_NAME
  return { name, host: origin, tokenUrl: `${origin}/oidc/v1/token`, clientId, clientSecret: new Secret(secret), grant: 'client_credentials' }
}

/**
 * `adb-1.2.azuredatabricks.net` or `https://…/` as the origin the API paths hang off; a path,
 * query or fragment is refused with the URL to use instead (config/workspace-host.ts).
 */
export function workspaceOrigin (host: string, usage: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`
  const check = checkWorkspaceHost(withScheme)
  if (!check.ok) throw new UsageError(hostProblem('--host', check), usage)
  return check.origin
}

function nonEmpty (s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s
}

/** A workspace token source for one command run, minted by the gateway's own grant code. */
export interface WorkspaceSession {
  workspace: WorkspaceConfig
  broker: TokenBroker
  dispatcher: Agent
  /** The workspace's all-apis token (cached for the run). */
  token: () => Promise<string>
  close: () => Promise<void>
}

export function openWorkspaceSession (ws: WorkspaceConfig, opts: { fetchTimeoutMs?: number } = {}): WorkspaceSession {
  const broker = new TokenBroker({ logger: pino({ level: 'silent' }) })
  const dispatcher = new Agent({ connections: 4 })
  const tokens = workspaceTokens(ws, { broker, dispatcher, fetchTimeoutMs: opts.fetchTimeoutMs ?? TOKENS_DEFAULTS.fetchTimeoutMs, now: Date.now })
  return {
    workspace: ws,
    broker,
    dispatcher,
    token: async () => await broker.get(tokens.workspace),
    async close () {
      broker.close()
      await dispatcher.close()
    }
  }
}

/** The same warning as the gateway's (configWarnings): an http:// workspace that is not loopback. */
function warnIfClear (host: string, warn: (line: string) => void): void {
  const { protocol, hostname, origin } = new URL(host)
  if (protocol === 'http:' && !isLoopback(hostname)) warn(`warning: ${origin} is not loopback: the client secret and tokens would go over it in clear (use https://)`)
}
