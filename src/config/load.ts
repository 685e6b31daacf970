// Loads, interpolates, validates and normalises the config into a frozen, typed Config.
import { createHash } from 'node:crypto'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../errors.js'
import { Type, type Static } from '@sinclair/typebox'
import { ConfigSchema, jwksSource, WorkspaceSchema, type RawConfig } from './schema.js'
import { interpolate, wholeFileRef, type InterpolateDeps } from './interpolate.js'
import { Secret } from './secret.js'
import { checkWorkspaceHost, hostProblem } from './workspace-host.js'
import { readFileBoundedSync, readProblem } from '../io/read-file.js'
import { nearestKey } from './suggest.js'

/**
 * The cap of a config file, a `${file:}` value or a CA bundle. Files are read without blocking on
 * a FIFO and only if regular (io/read-file.ts): a start-up or SIGHUP read cannot freeze the process.
 */
const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024
const readText = (p: string): string => readFileBoundedSync(p, MAX_CONFIG_FILE_BYTES).toString('utf8')

export type { Action, CallerLimits, Grant } from './schema.js'

type RawWorkspace = RawConfig['workspaces'][number]
type RawEndpoint = RawConfig['endpoints'][number]
type RawCaller = RawConfig['callers'][number]

// The normalised shapes: the schema's fields (defaults filled), with only what load() derives
// declared here.

/** A workspace; clientId and clientSecret are required by client_credentials and token_exchange, never a secret with federation. */
export type WorkspaceConfig = Omit<RawWorkspace, 'tokenUrl' | 'clientSecret'> & {
  /** Given, or {host}/oidc/v1/token. */
  tokenUrl: string
  clientSecret: Secret | undefined
}

export type EndpointConfig = Omit<RawEndpoint, 'url' | 'endpointId' | 'remoteName' | 'bodyLimitBytes'> & {
  /** Full invocation URL the gateway POSTs to; undefined: discovered from the workspace API. */
  url: string | undefined
  /** Id used to scope tokens; undefined when discovered. */
  endpointId: string | undefined
  remoteName: string
  bodyLimitBytes: number
}

export type CallerConfig = Omit<RawCaller, 'keySha256' | 'jwtSubjects' | 'mtlsSubjects'> & {
  /** Lower-case hex sha256 digests of the caller's valid keys (may be empty). */
  keySha256: string[]
  /** Values of auth.jwt.callerClaim naming this caller (see load: its name only for JWT-only callers). */
  jwtSubjects: string[]
  /** Client-certificate subject CNs / SAN entries naming this caller. */
  mtlsSubjects: string[]
}

/** store.redis with its URL (which may hold credentials) held as a Secret. */
export interface StoreConfig {
  redis: Omit<NonNullable<RawConfig['store']>['redis'], 'url'> & { url: Secret }
}

export type Config = Omit<RawConfig, 'workspaces' | 'endpoints' | 'callers' | 'store'> & {
  store?: StoreConfig | undefined
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
// verbose: an anyOf error carries its schema, whose description names the accepted forms.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false, verbose: true })
const validate = ajv.compile<RawConfig>(ConfigSchema)

/** Reads a YAML or JSON config file and returns the validated Config. */
export function loadConfig (path: string, deps: LoadDeps = {}): Config {
  const readFile = deps.readFile ?? readText
  return parseConfig(readDocument(path, readFile), { ...deps, readFile })
}

/** The parsed YAML/JSON document of a config file; a ConfigError names the file and the line, never its text. */
function readDocument (path: string, readFile: (p: string) => string): unknown {
  let text: string
  try {
    text = readFile(path)
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path} (${readProblem(err)})`)
  }
  try {
    // logLevel error: the parser's warnings (on stderr) quote source text, e.g. an unknown tag.
    return parseYaml(text, { prettyErrors: false, logLevel: 'error' })
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${yamlProblem(err, text)}`)
  }
}

/**
 * Where and what, without the source: the parser's pretty message quotes the offending line,
 * which may hold a literal secret. Its plain message is kept up to any ': ' (after which a few
 * messages quote source text).
 */
function yamlProblem (err: unknown, text: string): string {
  const e = err as { pos?: [number, number], code?: string, message?: string }
  const what = e.code === 'BAD_DQ_ESCAPE'
    ? 'invalid escape sequence in a double-quoted string'
    : (e.message ?? 'syntax error').split(/: |\n/)[0]?.slice(0, 120) ?? 'syntax error'
  const pos = e.pos?.[0]
  if (pos === undefined) return what
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1
  const line = text.slice(0, lineStart).split('\n').length
  const lineText = text.slice(lineStart, (text.indexOf('\n', lineStart) + 1 || text.length + 1) - 1)
  // `port: ${env:PORT}` inside `{ … }`: the `{` of the reference opens a nested flow mapping.
  // eslint-disable-next-line no-template-curly-in-string -- the text shows a reference, literally
  const hint = /[[{][^\]}]*\$\{/.test(lineText) ? ' (inside { … } or [ … ], quote a ${…} reference: port: "${env:PORT}")' : ''
  return `line ${line}, column ${pos - lineStart + 1}: ${what}${hint}`
}

/** Validates an already-parsed config document (file contents, or built in memory). */
export function parseConfig (doc: unknown, deps: LoadDeps = {}): Config {
  const ideps: InterpolateDeps = {
    env: deps.env ?? process.env,
    readFile: deps.readFile ?? readText
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('config must be a mapping with workspaces, endpoints and callers')
  }
  const resolved = interpolate(doc, ideps) as Record<string, unknown>
  if (!validate(resolved)) {
    throw new ConfigError(`invalid config: ${describe(validate.errors ?? [])}`)
  }
  return deepFreeze(normalise(resolved, doc as Record<string, unknown>, ideps))
}

function normalise (raw: RawConfig, doc: Record<string, unknown>, deps: InterpolateDeps): Config {
  unique(raw.workspaces.map(w => w.name), 'workspaces')
  unique(raw.endpoints.map(e => e.name), 'endpoints')
  unique(raw.callers.map(c => c.name), 'callers')
  const rawWorkspaces = (doc.workspaces ?? []) as Array<Record<string, unknown>>

  const workspaces = raw.workspaces.map((w, i) => normaliseWorkspace(w, i, rawWorkspaces[i], deps))
  const wsIndex = new Map(workspaces.map((w, i) => [w.name, i]))

  const endpoints = raw.endpoints.map((e, i): EndpointConfig => {
    const field = `endpoints[${i}]`
    const wi = wsIndex.get(e.workspace)
    if (wi === undefined) throw new ConfigError(`${field}.workspace: no workspace named '${e.workspace}'`)
    const remoteName = e.remoteName ?? e.name
    let url: string | undefined
    let endpointId: string | undefined
    if (e.url === undefined) {
      if (e.endpointId !== undefined) throw new ConfigError(`${field}.endpointId: only with url (a discovered endpoint's id comes from the workspace)`)
    } else {
      const u = parseUrl(e.url, `${field}.url`)
      if (u.pathname === '/' || u.pathname === '') u.pathname = invocationPath(u, remoteName, workspaces[wi]?.workspaceId, `${field}.url`, `workspaces[${wi}].workspaceId`)
      if (u.search !== '' || u.hash !== '') throw new ConfigError(`${field}.url: must not have a query or fragment`)
      url = u.toString()
      endpointId = e.endpointId ?? idFromHost(u.hostname, field)
    }
    if (e.caFile !== undefined) {
      try {
        readFileBoundedSync(e.caFile, MAX_CONFIG_FILE_BYTES)
      } catch (err) {
        throw new ConfigError(`${field}.caFile: cannot read ${e.caFile} (${readProblem(err)})`)
      }
    }
    // Every field as the schema checked it (a field added there needs no copy here), and the
    // four this function works out.
    return { ...e, url, endpointId, remoteName, bodyLimitBytes: e.bodyLimitBytes ?? raw.server.bodyLimitBytes }
  })
  const epNames = new Set(endpoints.map(e => e.name))
  for (const [i, e] of endpoints.entries()) checkBeyond(e, i, epNames)

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
  const adminKey = raw.admin.keySha256?.toLowerCase()
  if (adminKey !== undefined && SAMPLE_KEY_DIGESTS.has(adminKey)) {
    throw new ConfigError(`admin.keySha256: ${adminKey.slice(0, 8)}… is the digest of a well-known sample key ('${SAMPLE_KEY_DIGESTS.get(adminKey) ?? ''}'): make a real one with \`routegate hash-key\``)
  }
  if (raw.auth.jwt !== undefined) jwksSource(raw.auth.jwt)

  return { server: raw.server, admin: raw.admin, log: raw.log, tokens: raw.tokens, auth: raw.auth, tracing: raw.tracing, store: normaliseStore(raw.store), workspaces, endpoints, callers }
}

/** store.redis: a URL that parses (never echoed: it may hold a password), kept as a Secret. */
function normaliseStore (store: RawConfig['store']): StoreConfig | undefined {
  if (store === undefined) return undefined
  let u: URL
  try {
    u = new URL(store.redis.url)
  } catch {
    throw new ConfigError('store.redis.url: not a valid redis:// or rediss:// URL')
  }
  if (u.hostname === '') throw new ConfigError('store.redis.url: needs a host')
  // A path may only name a database number (redis://host:6379/2), as the client reads it.
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,5}$/.test(u.pathname)) {
    throw new ConfigError('store.redis.url: the path may only be a database number (redis://host:6379/0)')
  }
  if (u.search !== '' || u.hash !== '') throw new ConfigError('store.redis.url: no query or fragment (redis://host:6379/0)')
  return { redis: { ...store.redis, url: new Secret(store.redis.url) } }
}

/** shadow and fallback name other configured endpoints, never their own. */
function checkBeyond (e: EndpointConfig, i: number, names: ReadonlySet<string>): void {
  const field = `endpoints[${i}]`
  if (e.shadow !== undefined) {
    if (e.shadow.endpoint === e.name) throw new ConfigError(`${field}.shadow.endpoint: an endpoint cannot shadow itself`)
    if (!names.has(e.shadow.endpoint)) throw new ConfigError(`${field}.shadow.endpoint: no endpoint named '${e.shadow.endpoint}'`)
  }
  for (const [j, name] of (e.fallback ?? []).entries()) {
    if (name === e.name) throw new ConfigError(`${field}.fallback[${j}]: an endpoint cannot fall back to itself`)
    if (!names.has(name)) throw new ConfigError(`${field}.fallback[${j}]: no endpoint named '${name}'`)
  }
  unique([...(e.fallback ?? [])], `${field}.fallback`)
}

/** A workspace's cross-field rules and derived fields; `written` is its entry as the file has it. */
function normaliseWorkspace (w: RawWorkspace, i: number, written: Record<string, unknown> | undefined, deps: InterpolateDeps): WorkspaceConfig {
  const field = `workspaces[${i}]`
  if (w.grant === 'federation') {
    if (w.subjectTokenFile === undefined) throw new ConfigError(`${field}.subjectTokenFile: required with grant: federation`)
    if (w.clientSecret !== undefined) throw new ConfigError(`${field}.clientSecret: not used with grant: federation (it needs no secret): remove it`)
  } else {
    if (w.clientId === undefined) throw new ConfigError(`${field}.clientId: required with grant: ${w.grant}`)
    if (w.clientSecret === undefined) throw new ConfigError(`${field}.clientSecret: required with grant: ${w.grant}`)
    if (w.subjectTokenFile !== undefined) throw new ConfigError(`${field}.subjectTokenFile: only with grant: federation`)
  }
  const hostCheck = checkWorkspaceHost(w.host)
  if (!hostCheck.ok) throw new WorkspaceHostError(hostProblem(`${field}.host`, hostCheck))
  const file = wholeFileRef(written?.clientSecret)
  // A YAML number past 2^53 has already lost digits: the id must be written as a string.
  const writtenId = written?.workspaceId
  if (typeof writtenId === 'number' && !Number.isSafeInteger(writtenId)) {
    throw new ConfigError(`${field}.workspaceId: too many digits for a YAML number: quote it ("…")`)
  }
  return {
    ...w,
    host: hostCheck.origin,
    tokenUrl: w.tokenUrl ?? `${hostCheck.origin}/oidc/v1/token`,
    clientSecret: w.clientSecret === undefined ? undefined : new Secret(w.clientSecret, file === undefined ? {} : { file, readFile: deps.readFile })
  }
}

/**
 * A workspace host with a path, query or fragment: a mistake in what was typed, like a bad flag,
 * so the CLI exits 64 (EX_USAGE) for it, at start-up and in check-config.
 */
export class WorkspaceHostError extends ConfigError {
  readonly exitCode = 64
}

const WorkspacesOnly = Type.Object({ workspaces: Type.Array(WorkspaceSchema, { minItems: 1 }) })
const validateWorkspaces = ajv.compile<Static<typeof WorkspacesOnly>>(WorkspacesOnly)

/**
 * Only the `workspaces` of a config file, for the commands that talk to a workspace (`routegate
 * endpoints`): the rest of the file is neither interpolated nor checked, so a config that has no
 * endpoints yet (or whose other sections need variables this shell lacks) still names its workspaces.
 */
export function loadWorkspaces (path: string, deps: LoadDeps = {}): WorkspaceConfig[] {
  const readFile = deps.readFile ?? readText
  const doc = readDocument(path, readFile)
  const ideps: InterpolateDeps = { env: deps.env ?? process.env, readFile }
  const written = (typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? doc : {}) as Record<string, unknown>
  const resolved = { workspaces: interpolate(written.workspaces, ideps, 'workspaces') }
  if (!validateWorkspaces(resolved)) throw new ConfigError(`invalid config: ${describe(validateWorkspaces.errors ?? [])}`)
  unique(resolved.workspaces.map(w => w.name), 'workspaces')
  const rawWorkspaces = (Array.isArray(written.workspaces) ? written.workspaces : []) as Array<Record<string, unknown>>
  return resolved.workspaces.map((w, i) => deepFreeze(normaliseWorkspace(w, i, rawWorkspaces[i], ideps)))
}

export interface ConfigWarning {
  /** The field, e.g. `workspaces[0].host`. */
  field: string
  message: string
}

/**
 * What is valid but unsafe: an `http://` workspace host or token URL that is not loopback sends
 * the client secret (and tokens) in clear; an `http://` endpoint url, its token. Logged once at
 * start and printed by check-config.
 */
export function configWarnings (config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = []
  const clear = (url: string): string | undefined => {
    const u = new URL(url)
    return u.protocol === 'http:' && !isLoopback(u.hostname) ? `${u.protocol}//${u.host}` : undefined
  }
  for (const [i, w] of config.workspaces.entries()) {
    const host = clear(w.host)
    if (host !== undefined) out.push({ field: `workspaces[${i}].host`, message: `${host} is not loopback: the client secret and tokens would go over it in clear (use https://)` })
    const tokenUrl = clear(w.tokenUrl)
    if (tokenUrl !== undefined && !w.tokenUrl.startsWith(w.host + '/')) out.push({ field: `workspaces[${i}].tokenUrl`, message: `${tokenUrl} is not loopback: the client secret and tokens would go over it in clear (use https://)` })
  }
  for (const [i, e] of config.endpoints.entries()) {
    const url = e.url === undefined ? undefined : clear(e.url)
    if (url !== undefined) out.push({ field: `endpoints[${i}].url`, message: `${url} is not loopback: the endpoint's token would go over it in clear (use https://)` })
  }
  return out
}

/** 127.0.0.0/8, localhost and [::1]: traffic that never leaves the machine. */
export function isLoopback (hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

function parseUrl (s: string, field: string): URL {
  try {
    return new URL(s)
  } catch {
    throw new ConfigError(`${field}: not a valid URL`)
  }
}

// Route-optimized hosts are <endpoint-id>[.<n>].serving.<cloud-domain>
// (docs/databricks-protocol.md §1; the rule for origin-only urls: docs/configuration.md "Endpoints").
function isServingHost (hostname: string): boolean {
  return hostname.includes('.serving.')
}

/**
 * The path an origin-only url gets: the route-optimized `/<workspaceId>/serving-endpoints/<name>/
 * invocations` when the workspace's id is configured; a Databricks serving host without it is an
 * error (its URL cannot be guessed: give it whole, or omit url and let discovery supply it); any
 * other upstream gets the plain `/serving-endpoints/<name>/invocations`.
 */
function invocationPath (u: URL, remoteName: string, workspaceId: string | undefined, field: string, idField: string): string {
  if (workspaceId !== undefined) return `/${workspaceId}/serving-endpoints/${remoteName}/invocations`
  if (isServingHost(u.hostname)) {
    throw new ConfigError(`${field}: ${u.host} is a route-optimized host, whose invocation path carries the workspace id: set ${idField}, give the full invocation URL, or omit url to discover it`)
  }
  return `/serving-endpoints/${remoteName}/invocations`
}

// The endpoint id is the first label of a route-optimized host.
function idFromHost (hostname: string, field: string): string {
  const label = hostname.split('.')[0] ?? ''
  if (isServingHost(hostname) && /^[A-Za-z0-9-]+$/.test(label)) return label
  throw new ConfigError(`${field}.endpointId: required when url's host (${hostname}) is not a route-optimized serving host`)
}

function unique (names: string[], field: string): void {
  const seen = new Set<string>()
  for (const n of names) {
    if (seen.has(n)) throw new ConfigError(`${field}: duplicate '${field.endsWith('keySha256') ? n.slice(0, 8) + '…' : n}'`)
    seen.add(n)
  }
}

/** One line per problem: an enum names its allowed values, an anyOf its forms (not each branch's errors). */
function describe (errors: ErrorObject[]): string {
  const anyOf = errors.filter(e => e.keyword === 'anyOf').map(e => e.instancePath)
  const inside = (e: ErrorObject): boolean => anyOf.some(p => e.instancePath === p || e.instancePath.startsWith(p + '/'))
  const lines = errors.filter(e => e.keyword === 'anyOf' || !inside(e)).map(describeOne)
  return [...new Set(lines)].join('; ')
}

function describeOne (e: ErrorObject): string {
  const at = e.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(root)'
  if (e.keyword === 'additionalProperties') {
    const key = String(e.params.additionalProperty)
    const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {})
    const near = nearestKey(key, allowed)
    return `${at}: unknown field '${key.slice(0, 64)}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`
  }
  if (e.keyword === 'required') return `${at === '(root)' ? '' : at + '.'}${String(e.params.missingProperty)}: required`
  if (e.keyword === 'enum') return `${at}: must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`
  if (e.keyword === 'anyOf') return `${at}: must be ${String((e.parentSchema as { description?: string } | undefined)?.description ?? 'one of the allowed forms')}`
  return `${at}: ${e.message ?? 'invalid'}`
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object' && !(o instanceof Secret) && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
