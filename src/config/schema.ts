// The config file's JSON Schema (TypeBox): field types, defaults and limits in one place; the
// config types (Static<>) and the defaults code falls back to are derived from it.
import { Type, type SchemaOptions, type Static, type TUnsafe } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ConfigError } from '../errors.js'
import { NAME_PATTERN } from './names.js'

/**
 * A string that is one of `values`, as a JSON Schema `enum` (not a union of constants): a wrong
 * value then gets one error naming the allowed values instead of one per alternative.
 */
function StringEnum<const T extends readonly string[]> (values: T, opts: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...opts, type: 'string', enum: [...values] })
}

const Name = Type.String({ pattern: NAME_PATTERN })
const Port = Type.Integer({ minimum: 0, maximum: 65535 })
const Sha256Hex = Type.String({ pattern: '^[0-9a-fA-F]{64}$' })
const ACTIONS = ['query_inference_endpoint', 'manage_inference_endpoint'] as const
const ActionSchema = StringEnum(ACTIONS)

export const ServerSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** Largest request body accepted, in bytes (Databricks' own limit is 16 MB). */
  bodyLimitBytes: Type.Integer({ minimum: 1, default: 16 * 1024 * 1024 }),
  /**
   * Largest body the OpenAI-compatible routes read before routing (they must see `model`); the
   * named endpoint's own limit applies after. Bounded at 1 GiB: such a body is held in memory.
   */
  openaiBodyLimitBytes: Type.Integer({ minimum: 1, maximum: 1024 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  /** How long a SIGTERM waits for in-flight requests before exiting. */
  shutdownGraceMs: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Bodies up to this size are kept in memory so a 401'd request can be replayed once with a fresh token. */
  replayBufferBytes: Type.Integer({ minimum: 0, default: 1024 * 1024 }),
  /** Slow-client limits: time to receive the request headers, and the whole request. */
  headersTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
  requestTimeoutMs: Type.Integer({ minimum: 1, default: 120_000 }),
  /** Most open client connections; more are refused at accept (and logged, at most every 10 s). */
  maxConnections: Type.Integer({ minimum: 1, default: 10_000 }),
  /** How long an idle keep-alive client connection stays open. */
  keepAliveTimeoutMs: Type.Integer({ minimum: 1000, default: 72_000 }),
  /** Largest request header block in bytes, and most header fields. */
  maxHeaderBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 }),
  maxHeaderCount: Type.Integer({ minimum: 8, default: 100 }),
  /**
   * A proxy or load balancer in front of the gateway sets X-Forwarded-For/-Proto/-Host, Forwarded
   * and Via: pass them on (appending to X-Forwarded-For) and take the client address from them.
   * Off: callers' own forwarding headers are dropped, so a caller cannot pose as another address.
   */
  trustProxy: Type.Boolean({ default: false }),
  /** Shed load (503 before any work) while event-loop delay exceeds this; 0 disables. */
  maxEventLoopDelayMs: Type.Integer({ minimum: 0, default: 1000 }),
  /**
   * Watch the config file (and its directory, so a Kubernetes ConfigMap's `..data` symlink swap
   * is seen) and apply a change as SIGHUP does; read at start only.
   */
  watchConfig: Type.Boolean({ default: false }),
  /** TLS on the gateway listener; with clientCaFile, client certificates identify callers (mTLS). */
  tls: Type.Optional(Type.Object({
    certFile: Type.String({ minLength: 1 }),
    keyFile: Type.String({ minLength: 1 }),
    clientCaFile: Type.Optional(Type.String({ minLength: 1 })),
    /** With clientCaFile: reject connections without a valid client certificate. */
    requireClientCert: Type.Boolean({ default: false })
  }, { additionalProperties: false }))
}, { additionalProperties: false, default: {} })

export const JwtAuthSchema = Type.Object({
  /** Where the identity provider's signing keys are: a JWKS URL (cached, refreshed) or a file. */
  jwksUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  jwksFile: Type.Optional(Type.String({ minLength: 1 })),
  issuer: Type.String({ minLength: 1 }),
  audience: Type.String({ minLength: 1 }),
  algorithms: Type.Array(Type.String({ pattern: '^(RS|PS|ES)(256|384|512)$|^EdDSA$' }), { minItems: 1, default: ['RS256', 'ES256'] }),
  /** The claim naming the caller; matched against callers[].name and callers[].jwtSubjects. */
  callerClaim: Type.String({ minLength: 1, default: 'sub' }),
  clockToleranceSeconds: Type.Integer({ minimum: 0, default: 30 }),
  /** Oldest token accepted, measured from its `iat` (required); an `iat` in the future is refused too. */
  maxTokenAgeSeconds: Type.Integer({ minimum: 1, default: 86_400 })
}, { additionalProperties: false })

export const AuthSchema = Type.Object({
  jwt: Type.Optional(JwtAuthSchema)
}, { additionalProperties: false, default: {} })

export const AdminSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0' }),
  port: { ...Port, default: 9464 },
  /** sha256 (hex) of a bearer key every admin route but /healthz and /readyz then requires. */
  keySha256: Type.Optional(Sha256Hex)
}, { additionalProperties: false, default: {} })

export const LogSchema = Type.Object({
  level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
}, { additionalProperties: false, default: {} })

export const TokensSchema = Type.Object({
  /** Timeout of one call to a token endpoint. */
  fetchTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
  /** Most token cache entries held (one per workspace, endpoint id and action). */
  cacheSize: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Upper bound of the random jitter subtracted from the refresh-ahead point, so replicas spread out. */
  refreshJitterMs: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Longest wait between two attempts for one key after transient failures; a longer Retry-After is cut to it. */
  backoffMaxMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** The same for credential errors (bad secret, lost permission). */
  credentialBackoffMaxMs: Type.Integer({ minimum: 1000, default: 300_000 })
}, { additionalProperties: false, default: {} })

export const WorkspaceSchema = Type.Object({
  name: Name,
  /** Workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net */
  host: Type.String({ pattern: '^https?://' }),
  /**
   * The workspace's numeric id (the `?o=` of its URL): an endpoint whose url is just an origin
   * gets `/<workspaceId>/serving-endpoints/<remoteName>/invocations`, the route-optimized path.
   */
  workspaceId: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  /** Token endpoint; defaults to {host}/oidc/v1/token. */
  tokenUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** The service principal's OAuth client id; optional with grant: federation (a federation policy may name it). */
  clientId: Type.Optional(Type.String({ minLength: 1 })),
  /** Its OAuth secret; required except with grant: federation, which uses none. */
  clientSecret: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * client_credentials (documented M2M, default); token_exchange (the SDKs' jwt-bearer exchange of
   * a workspace token); federation (RFC 8693 exchange of the subjectTokenFile JWT: no secret).
   */
  grant: StringEnum(['client_credentials', 'token_exchange', 'federation'], { default: 'client_credentials' }),
  /** With grant: federation, a file holding the identity provider's JWT (e.g. a projected service-account token), re-read at every exchange. */
  subjectTokenFile: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })

/** Limits shared by callers[].limits and endpoints[].limits (docs/governance.md). */
const RATE_LIMIT_FIELDS = {
  /** Token bucket: sustained requests per second and burst size. */
  requestsPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e9 })),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9 })),
  /** Requests per minute, refilling continuously (no fixed-window edge). */
  requestsPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e12 })),
  /** OpenAI-compatible routes: prompt + completion tokens per minute and per day, refilling continuously. */
  tokensPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e12 })),
  tokensPerDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e15 })),
  /** enforce refuses; shadow only counts what enforce would refuse. */
  mode: StringEnum(['enforce', 'shadow'], { default: 'enforce' }),
  /** With a store that does not answer: local (limit ÷ live replicas), open (admit) or closed (429). */
  onStoreFailure: StringEnum(['local', 'open', 'closed'], { default: 'local' }),
  /**
   * Tokens reserved for the completion when a request gives no max_tokens (plus body bytes ÷ 4
   * for the prompt): the caller's when set, else the endpoint's, else 1024 (no schema default, so
   * an endpoint's value is not hidden by a caller's default).
   */
  defaultReserveTokens: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 }))
}

export const CallerLimitsSchema = Type.Object({
  ...RATE_LIMIT_FIELDS,
  /** Most requests in progress at once (per replica: a crashed replica must not leak slots). */
  maxConcurrent: Type.Optional(Type.Integer({ minimum: 1 }))
}, { additionalProperties: false })

export const EndpointLimitsSchema = Type.Object(RATE_LIMIT_FIELDS, { additionalProperties: false })
export const CacheSchema = Type.Object({
  /** How long a stored answer may answer again. */
  ttlMs: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 60_000 }),
  /** Most answers held. */
  maxEntries: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  /** Largest answer stored; larger ones pass through uncached. */
  maxEntryBytes: Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024, default: 64 * 1024 }),
  /** Most bytes held by this endpoint's answers together. */
  maxBytes: Type.Integer({ minimum: 1, maximum: 4 * 1024 * 1024 * 1024, default: 64 * 1024 * 1024 }),
  /** Key entries by caller too, so callers never see each other's answers. */
  perCaller: Type.Boolean({ default: false })
}, { additionalProperties: false })

export const ShadowSchema = Type.Object({
  /** The configured endpoint that gets the copies (never this one). */
  endpoint: Name,
  /** Share of requests copied, 0–100. */
  percent: Type.Number({ minimum: 0, maximum: 100 }),
  /** Most copies running at once; more are skipped. */
  maxInFlight: Type.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
  /** Largest body copied; larger ones are skipped. */
  maxBodyBytes: Type.Integer({ minimum: 1, default: 1024 * 1024 })
}, { additionalProperties: false })

export const HedgeSchema = Type.Object({
  /** Delay before the second attempt: milliseconds, or "p95" for the endpoint's rolling p95. */
  afterMs: Type.Union([Type.Integer({ minimum: 1, maximum: 600_000 }), Type.Literal('p95')], { description: 'a number of milliseconds or "p95"', default: 'p95' }),
  /** Hedges allowed, as a percentage of requests over a sliding 10 s window. */
  maxPercent: Type.Number({ exclusiveMinimum: 0, maximum: 50, default: 5 })
}, { additionalProperties: false })

export const EndpointSchema = Type.Object({
  /** The name callers use in /serving-endpoints/{name}/invocations. */
  name: Name,
  workspace: Name,
  /** Route-optimized invocation URL (used verbatim) or just its origin; omit to discover it by remoteName. */
  url: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Endpoint id for token scoping; defaults to the first label of url's host. */
  endpointId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' })),
  /** The endpoint's name in the workspace; defaults to name. */
  remoteName: Type.Optional(Name),
  action: StringEnum(ACTIONS, { default: 'query_inference_endpoint' }),
  /** Upstream time to response headers (Databricks allows 297 s of model execution). */
  timeoutMs: Type.Integer({ minimum: 1, default: 300_000 }),
  connectTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Longest silence between two body chunks of a live response (no total cap on streams). */
  idleTimeoutMs: Type.Integer({ minimum: 1, default: 300_000 }),
  /** Most pooled connections to this endpoint's origin. */
  connections: Type.Integer({ minimum: 1, default: 128 }),
  /** PEM file of CA certificates trusted for this endpoint's TLS (besides the system's), e.g. a private CA. */
  caFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest request body for this endpoint; defaults to server.bodyLimitBytes. */
  bodyLimitBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Circuit breaker: after this many consecutive connect failures, fail fast for openMs, then probe. */
  breakerFailures: Type.Integer({ minimum: 1, default: 5 }),
  breakerOpenMs: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Limits on every caller of this endpoint together. */
  limits: Type.Optional(EndpointLimitsSchema),
  /** Put `"client_request_id": "<caller>:<request id>"` into JSON object bodies (inference-table joins). */
  clientRequestId: Type.Boolean({ default: false }),
  /** Answer repeated requests from memory (docs/beyond.md "Cache"). */
  cache: Type.Optional(CacheSchema),
  /** Copy a sample of requests to another endpoint, answer dropped (docs/beyond.md "Shadow traffic"). */
  shadow: Type.Optional(ShadowSchema),
  /** A second attempt for a slow answer, within a budget (docs/beyond.md "Hedging"). */
  hedge: Type.Optional(HedgeSchema),
  /** Endpoints to try, in order, when this one cannot answer (docs/beyond.md "Fallback"). */
  fallback: Type.Optional(Type.Array(Name, { minItems: 1, maxItems: 8 }))
}, { additionalProperties: false })

export const CallerSchema = Type.Object({
  name: Name,
  /** sha256 (hex) of the caller's key; a list lets two keys be valid during a rotation. */
  keySha256: Type.Optional(Type.Union([Sha256Hex, Type.Array(Sha256Hex, { minItems: 1 })], { description: 'a sha256 digest (64 hex digits) or a list of them' })),
  /** Values of auth.jwt.callerClaim that identify this caller; without them, its name does only when it has no key and no mtlsSubjects. */
  jwtSubjects: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  /** Client-certificate subject CNs or SAN entries (DNS:…, URI:…) that identify this caller. */
  mtlsSubjects: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  /** Endpoint names this caller may use, or ["*"]. */
  endpoints: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** Actions this caller may use; an endpoint's action must be among them. */
  actions: Type.Array(ActionSchema, { minItems: 1, default: ['query_inference_endpoint'] }),
  limits: Type.Optional(CallerLimitsSchema)
}, { additionalProperties: false })

export const StoreSchema = Type.Object({
  /** Redis 7 (or Valkey) shared by the replicas: cluster-wide limits. */
  redis: Type.Object({
    /** redis:// or rediss://; put credentials in it with ${file:} or ${env:}. */
    url: Type.String({ pattern: '^rediss?://' }),
    /** Every key the gateway writes starts with it. */
    keyPrefix: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_:.{}-]*$', default: 'routegate:' }),
    /** Longest wait for one store operation; past it the operation counts as failed. */
    timeoutMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 })
  }, { additionalProperties: false })
}, { additionalProperties: false })

export const TracingSchema = Type.Object({
  /** hop: forward traceparent with a new span id (the gateway is a hop); passthrough: as received. */
  mode: StringEnum(['hop', 'passthrough'], { default: 'hop' })
}, { additionalProperties: false, default: {} })

export const ConfigSchema = Type.Object({
  server: ServerSchema,
  admin: AdminSchema,
  log: LogSchema,
  tokens: TokensSchema,
  auth: AuthSchema,
  tracing: TracingSchema,
  store: Type.Optional(StoreSchema),
  workspaces: Type.Array(WorkspaceSchema, { minItems: 1 }),
  endpoints: Type.Array(EndpointSchema, { minItems: 1 }),
  callers: Type.Array(CallerSchema, { minItems: 1 })
}, { additionalProperties: false })

export type RawConfig = Static<typeof ConfigSchema>
export type Action = Static<typeof ActionSchema>
export type Grant = Static<typeof WorkspaceSchema>['grant']
export type CallerLimits = Static<typeof CallerLimitsSchema>
export type EndpointLimits = Static<typeof EndpointLimitsSchema>
export type StoreSettings = Static<typeof StoreSchema>
export type ServerSettings = Static<typeof ServerSchema>
export type TokensSettings = Static<typeof TokensSchema>
export type CacheSettings = Static<typeof CacheSchema>
export type ShadowSettings = Static<typeof ShadowSchema>
export type HedgeSettings = Static<typeof HedgeSchema>

/** The schema's own defaults for `server.*` and `tokens.*`: what code built without a config file falls back to. */
export const SERVER_DEFAULTS: Readonly<ServerSettings> = Object.freeze(Value.Default(ServerSchema, {}) as ServerSettings)
export const TOKENS_DEFAULTS: Readonly<TokensSettings> = Object.freeze(Value.Default(TokensSchema, {}) as TokensSettings)
/** Where auth.jwt's signing keys come from: exactly one of jwksUrl and jwksFile (checked at load and when built in code). */
export function jwksSource (jwt: Pick<Static<typeof JwtAuthSchema>, 'jwksUrl' | 'jwksFile'>): { url: string } | { file: string } {
  if (jwt.jwksUrl !== undefined && jwt.jwksFile === undefined) return { url: jwt.jwksUrl }
  if (jwt.jwksFile !== undefined && jwt.jwksUrl === undefined) return { file: jwt.jwksFile }
  throw new ConfigError('auth.jwt: needs exactly one of jwksUrl or jwksFile')
}

/** A caller's actions when it lists none. */
export const DEFAULT_ACTIONS: readonly Action[] = Object.freeze([...CallerSchema.properties.actions.default as Action[]])
