// Loads, interpolates, validates and normalises the config into a frozen, typed Config.
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { ConfigSchema, type RawConfig } from './schema.js'
import { interpolate, wholeFileRef, type InterpolateDeps } from './interpolate.js'
import { Secret } from './secret.js'

export type Action = 'query_inference_endpoint' | 'manage_inference_endpoint'

export interface WorkspaceConfig {
  name: string
  host: string
  tokenUrl: string
  clientId: string
  clientSecret: Secret
}

export interface EndpointConfig {
  name: string
  workspace: string
  /** Full invocation URL the gateway POSTs to. */
  url: string
  endpointId: string
  remoteName: string
  action: Action
  timeoutMs: number
  connectTimeoutMs: number
  idleTimeoutMs: number
  connections: number
}

export interface CallerConfig {
  name: string
  /** Lower-case hex sha256 digests of the caller's valid keys. */
  keySha256: string[]
  endpoints: string[]
}

export interface Config {
  server: RawConfig['server']
  admin: RawConfig['admin']
  log: RawConfig['log']
  tokens: RawConfig['tokens']
  workspaces: WorkspaceConfig[]
  endpoints: EndpointConfig[]
  callers: CallerConfig[]
}

export interface LoadDeps {
  env?: Record<string, string | undefined>
  readFile?: (path: string) => string
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
const validate = ajv.compile<RawConfig>(ConfigSchema)

/** Reads a YAML or JSON config file and returns the validated Config. */
export function loadConfig (path: string, deps: LoadDeps = {}): Config {
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  let text: string
  try {
    text = readFile(path)
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let doc: unknown
  try {
    doc = parseYaml(text, { prettyErrors: false })
  } catch (err) {
    // The YAML parser's message quotes the offending line, which may hold a literal secret.
    const pos = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line
    throw new ConfigError(`config file ${path} is not valid YAML or JSON${pos === undefined ? '' : ` (line ${pos})`}`)
  }
  return parseConfig(doc, { ...deps, readFile })
}

/** Validates an already-parsed config document (file contents, or built in memory). */
export function parseConfig (doc: unknown, deps: LoadDeps = {}): Config {
  const ideps: InterpolateDeps = {
    env: deps.env ?? process.env,
    readFile: deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('config must be a mapping with workspaces, endpoints and callers')
  }
  const resolved = interpolate(doc, ideps) as Record<string, unknown>
  if (!validate(resolved)) {
    throw new ConfigError(`invalid config: ${(validate.errors ?? []).map(describe).join('; ')}`)
  }
  return deepFreeze(normalise(resolved, doc as Record<string, unknown>, ideps))
}

function normalise (raw: RawConfig, doc: Record<string, unknown>, deps: InterpolateDeps): Config {
  unique(raw.workspaces.map(w => w.name), 'workspaces')
  unique(raw.endpoints.map(e => e.name), 'endpoints')
  unique(raw.callers.map(c => c.name), 'callers')
  const rawWorkspaces = (doc.workspaces ?? []) as Array<Record<string, unknown>>

  const workspaces = raw.workspaces.map((w, i): WorkspaceConfig => {
    const file = wholeFileRef(rawWorkspaces[i]?.clientSecret)
    return {
      name: w.name,
      host: w.host.replace(/\/+$/, ''),
      tokenUrl: w.tokenUrl ?? `${w.host.replace(/\/+$/, '')}/oidc/v1/token`,
      clientId: w.clientId,
      clientSecret: new Secret(w.clientSecret, file === undefined ? {} : { file, readFile: deps.readFile })
    }
  })
  const wsNames = new Set(workspaces.map(w => w.name))

  const endpoints = raw.endpoints.map((e, i): EndpointConfig => {
    const field = `endpoints[${i}]`
    if (!wsNames.has(e.workspace)) throw new ConfigError(`${field}.workspace: no workspace named '${e.workspace}'`)
    const remoteName = e.remoteName ?? e.name
    const url = parseUrl(e.url, `${field}.url`)
    if (url.pathname === '/' || url.pathname === '') url.pathname = `/serving-endpoints/${remoteName}/invocations`
    if (url.search !== '' || url.hash !== '') throw new ConfigError(`${field}.url: must not have a query or fragment`)
    const endpointId = e.endpointId ?? idFromHost(url.hostname, field)
    return {
      name: e.name,
      workspace: e.workspace,
      url: url.toString(),
      endpointId,
      remoteName,
      action: e.action ?? 'query_inference_endpoint',
      timeoutMs: e.timeoutMs,
      connectTimeoutMs: e.connectTimeoutMs,
      idleTimeoutMs: e.idleTimeoutMs,
      connections: e.connections
    }
  })
  const epNames = new Set(endpoints.map(e => e.name))

  const callers = raw.callers.map((c, i): CallerConfig => {
    for (const [j, name] of c.endpoints.entries()) {
      if (name !== '*' && !epNames.has(name)) throw new ConfigError(`callers[${i}].endpoints[${j}]: no endpoint named '${name}'`)
    }
    const keys = Array.isArray(c.keySha256) ? c.keySha256 : [c.keySha256]
    return { name: c.name, keySha256: keys.map(k => k.toLowerCase()), endpoints: c.endpoints }
  })
  unique(callers.flatMap(c => c.keySha256), 'callers[].keySha256')

  return { server: raw.server, admin: raw.admin, log: raw.log, tokens: raw.tokens, workspaces, endpoints, callers }
}

function parseUrl (s: string, field: string): URL {
  try {
    return new URL(s)
  } catch {
    throw new ConfigError(`${field}: not a valid URL`)
  }
}

// Route-optimized hosts are <endpoint-id>.<n>.serving.<cloud-domain>: the id is the first label.
function idFromHost (hostname: string, field: string): string {
  const label = hostname.split('.')[0] ?? ''
  if (hostname.includes('.serving.') && /^[A-Za-z0-9-]+$/.test(label)) return label
  throw new ConfigError(`${field}.endpointId: required when url's host (${hostname}) is not a route-optimized serving host`)
}

function unique (names: string[], field: string): void {
  const seen = new Set<string>()
  for (const n of names) {
    if (seen.has(n)) throw new ConfigError(`${field}: duplicate '${field.endsWith('keySha256') ? n.slice(0, 8) + '…' : n}'`)
    seen.add(n)
  }
}

function describe (e: ErrorObject): string {
  const at = e.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(root)'
  if (e.keyword === 'additionalProperties') return `${at}: unknown field '${String(e.params.additionalProperty)}'`
  if (e.keyword === 'required') return `${at === '(root)' ? '' : at + '.'}${String(e.params.missingProperty)}: required`
  return `${at}: ${e.message ?? 'invalid'}`
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object' && !(o instanceof Secret) && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
