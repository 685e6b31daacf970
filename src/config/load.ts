// Loads, interpolates, validates and normalises the config into a frozen, typed Config.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { ConfigSchema, type RawConfig } from './schema.js'
import { interpolate, wholeFileRef, type InterpolateDeps } from './interpolate.js'
import { Secret } from './secret.js'

export type Action = 'query_inference_endpoint' | 'manage_inference_endpoint'

export type Grant = 'client_credentials' | 'token_exchange' | 'federation'

export interface WorkspaceConfig {
  name: string
  host: string
  tokenUrl: string
  /** Required by client_credentials and token_exchange; optional with federation. */
  clientId: string | undefined
  /** Required by client_credentials and token_exchange; never with federation. */
  clientSecret: Secret | undefined
  grant: Grant
  /** federation: the subject token's file, re-read at every exchange. */
  subjectTokenFile: string | undefined
}

export interface EndpointConfig {
  name: string
  workspace: string
  /** Full invocation URL the gateway POSTs to; undefined: discovered from the workspace API. */
  url: string | undefined
  /** Id used to scope tokens; undefined when discovered. */
  endpointId: string | undefined
  remoteName: string
  action: Action
  timeoutMs: number
  connectTimeoutMs: number
  idleTimeoutMs: number
  connections: number
  /** PEM bundle trusted for the endpoint's TLS, read once at start-up. */
  caFile: string | undefined
  bodyLimitBytes: number
  breakerFailures: number
  breakerOpenMs: number
}

export interface CallerConfig {
  name: string
  /** Lower-case hex sha256 digests of the caller's valid keys (may be empty). */
  keySha256: string[]
  /** Values of auth.jwt.callerClaim naming this caller (see load: its name only for JWT-only callers). */
  jwtSubjects: string[]
  /** Client-certificate subject CNs / SAN entries naming this caller. */
  mtlsSubjects: string[]
  endpoints: string[]
  actions: Action[]
  limits: { requestsPerSecond?: number, burst?: number, maxConcurrent?: number } | undefined
}

export interface Config {
  server: RawConfig['server']
  admin: RawConfig['admin']
  log: RawConfig['log']
  tokens: RawConfig['tokens']
  auth: RawConfig['auth']
  tracing: RawConfig['tracing']
  workspaces: WorkspaceConfig[]
  endpoints: EndpointConfig[]
  callers: CallerConfig[]
}

/**
 * Digests of keys that appear in samples and tutorials (the first round's README shipped
 * sha256("test")): a copy-pasted config must not let `Authorization: Bearer test` in.
 */
const SAMPLE_KEY_DIGESTS: ReadonlyMap<string, string> = new Map(
  ['test', 'changeme', 'change-me', 'password', 'secret', 'example', 'REPLACE-ME', 'replace-me', 'REPLACE_ME', 'your-key-here', 'caller-key', 'apikey', 'api-key', '']
    .map(k => [createHash('sha256').update(k).digest('hex'), k] as const)
)

export interface LoadDeps {
  env?: Record<string, string | undefined>
  readFile?: (path: string) => string
}

// coerceTypes: `port: ${env:PORT}` interpolates to a string; let it count as the number it spells.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false })
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
    const field = `workspaces[${i}]`
    if (w.grant === 'federation') {
      if (w.subjectTokenFile === undefined) throw new ConfigError(`${field}.subjectTokenFile: required with grant: federation`)
      if (w.clientSecret !== undefined) throw new ConfigError(`${field}.clientSecret: not used with grant: federation (it needs no secret): remove it`)
    } else {
      if (w.clientId === undefined) throw new ConfigError(`${field}.clientId: required with grant: ${w.grant}`)
      if (w.clientSecret === undefined) throw new ConfigError(`${field}.clientSecret: required with grant: ${w.grant}`)
      if (w.subjectTokenFile !== undefined) throw new ConfigError(`${field}.subjectTokenFile: only with grant: federation`)
    }
    const file = wholeFileRef(rawWorkspaces[i]?.clientSecret)
    return {
      name: w.name,
      host: w.host.replace(/\/+$/, ''),
      tokenUrl: w.tokenUrl ?? `${w.host.replace(/\/+$/, '')}/oidc/v1/token`,
      clientId: w.clientId,
      clientSecret: w.clientSecret === undefined ? undefined : new Secret(w.clientSecret, file === undefined ? {} : { file, readFile: deps.readFile }),
      grant: w.grant,
      subjectTokenFile: w.subjectTokenFile
    }
  })
  const wsNames = new Set(workspaces.map(w => w.name))

  const endpoints = raw.endpoints.map((e, i): EndpointConfig => {
    const field = `endpoints[${i}]`
    if (!wsNames.has(e.workspace)) throw new ConfigError(`${field}.workspace: no workspace named '${e.workspace}'`)
    const remoteName = e.remoteName ?? e.name
    let url: string | undefined
    let endpointId: string | undefined
    if (e.url === undefined) {
      if (e.endpointId !== undefined) throw new ConfigError(`${field}.endpointId: only with url (a discovered endpoint's id comes from the workspace)`)
    } else {
      const u = parseUrl(e.url, `${field}.url`)
      if (u.pathname === '/' || u.pathname === '') u.pathname = `/serving-endpoints/${remoteName}/invocations`
      if (u.search !== '' || u.hash !== '') throw new ConfigError(`${field}.url: must not have a query or fragment`)
      url = u.toString()
      endpointId = e.endpointId ?? idFromHost(u.hostname, field)
    }
    if (e.caFile !== undefined) {
      try {
        readFileSync(e.caFile)
      } catch (err) {
        throw new ConfigError(`${field}.caFile: cannot read ${e.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
    }
    return {
      name: e.name,
      workspace: e.workspace,
      url,
      endpointId,
      remoteName,
      action: e.action ?? 'query_inference_endpoint',
      timeoutMs: e.timeoutMs,
      connectTimeoutMs: e.connectTimeoutMs,
      idleTimeoutMs: e.idleTimeoutMs,
      connections: e.connections,
      caFile: e.caFile,
      bodyLimitBytes: e.bodyLimitBytes ?? raw.server.bodyLimitBytes,
      breakerFailures: e.breakerFailures,
      breakerOpenMs: e.breakerOpenMs
    }
  })
  const epNames = new Set(endpoints.map(e => e.name))

  const callers = raw.callers.map((c, i): CallerConfig => {
    for (const [j, name] of c.endpoints.entries()) {
      if (name !== '*' && !epNames.has(name)) throw new ConfigError(`callers[${i}].endpoints[${j}]: no endpoint named '${name}'`)
    }
    const keys = c.keySha256 === undefined ? [] : Array.isArray(c.keySha256) ? c.keySha256 : [c.keySha256]
    const mtls = c.mtlsSubjects ?? []
    if (keys.length === 0 && raw.auth.jwt === undefined && mtls.length === 0) {
      throw new ConfigError(`callers[${i}]: needs keySha256, or auth.jwt, or mtlsSubjects to be identified`)
    }
    if (mtls.length > 0 && raw.server.tls?.clientCaFile === undefined) {
      throw new ConfigError(`callers[${i}].mtlsSubjects: needs server.tls.clientCaFile`)
    }
    return {
      name: c.name,
      keySha256: keys.map(k => k.toLowerCase()),
      // A JWT subject names a caller only when configured to: a key-only (or mTLS) caller's name
      // must not become a subject any token from the identity provider could claim.
      jwtSubjects: c.jwtSubjects ?? (keys.length === 0 && mtls.length === 0 ? [c.name] : []),
      mtlsSubjects: mtls,
      endpoints: c.endpoints,
      actions: c.actions,
      limits: c.limits
    }
  })
  unique(callers.flatMap(c => c.keySha256), 'callers[].keySha256')
  for (const [i, c] of callers.entries()) {
    const sample = c.keySha256.find(d => SAMPLE_KEY_DIGESTS.has(d))
    if (sample !== undefined) {
      throw new ConfigError(`callers[${i}].keySha256: ${sample.slice(0, 8)}… is the digest of a well-known sample key ('${SAMPLE_KEY_DIGESTS.get(sample) ?? ''}'): make a real one with \`routegate hash-key\``)
    }
  }
  const jwt = raw.auth.jwt
  if (jwt !== undefined && (jwt.jwksUrl === undefined) === (jwt.jwksFile === undefined)) {
    throw new ConfigError('auth.jwt: needs exactly one of jwksUrl or jwksFile')
  }

  return { server: raw.server, admin: raw.admin, log: raw.log, tokens: raw.tokens, auth: raw.auth, tracing: raw.tracing, workspaces, endpoints, callers }
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
