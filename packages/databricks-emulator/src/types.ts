// Public option and result types of the Databricks emulator.
import type { FastifyInstance } from 'fastify'
import type { FaultController } from './faults.js'
import type { EmulatorStats, StreamRecord } from './stats.js'
import type { InferenceRow } from './inference-log.js'

/** An action a principal may hold on a serving endpoint (README, Token endpoint). */
export type EmulatorAction = 'query_inference_endpoint' | 'manage_inference_endpoint'

/** The actions, for validation and iteration. */
export const EMULATOR_ACTIONS = ['query_inference_endpoint', 'manage_inference_endpoint'] as const

/** An OAuth service principal the token endpoint knows. */
export interface EmulatorPrincipal {
  clientId: string
  clientSecret: string
  /** Grants per endpoint name, or `'*'` for every endpoint. `manage` implies `query`. */
  permissions: Array<{ endpoint: string, actions: EmulatorAction[] }>
}

/**
 * What an endpoint serves at `/invocations`, as Databricks' `task` field names it. Without a task
 * the body's fields pick: `messages` chat, `prompt` completions, `input` embeddings, else the
 * MLflow custom-model formats.
 */
export type EmulatorTask = 'llm/v1/chat' | 'llm/v1/completions' | 'llm/v1/embeddings'

/** The tasks, for validation. */
export const EMULATOR_TASKS = ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'] as const

/** How error bodies of the data plane are written: `error_code` as a string (`"BAD_REQUEST"`) or as the status (`400`, with `X-Databricks-Reason-Phrase`). */
export type ErrorForm = 'string' | 'numeric'

/** A serving endpoint as configured. */
export interface EmulatorEndpoint {
  name: string
  /** Default: 32 random lowercase hex digits, like real endpoint ids. */
  id?: string
  /** Default true. */
  routeOptimized?: boolean
  /** Default true; false reports `NOT_READY` and the data plane answers 503. */
  ready?: boolean
  /** Whether a route-optimized endpoint still answers on the workspace URL (pre-2025-09-22 endpoints). Default false. */
  workspaceUrlAllowed?: boolean
  /** Default `${name}-1`; sent back in the `served-model-name` header. */
  servedModelName?: string
  /** Restricts `/invocations` to one OpenAI-compatible shape. Default: picked per request by the body's fields. */
  task?: EmulatorTask
  /** Completion tokens (= stream chunks) when the body has no `max_tokens`. Default: the emulator's `defaultMaxTokens`. */
  defaultMaxTokens?: number
  /** Delay between SSE chunks of this endpoint. Default: the emulator's `streamIntervalMs`. */
  streamIntervalMs?: number
  /** Length of each embedding vector. Default 8. */
  embeddingDimensions?: number
  /**
   * Whether embeddings honour the request's `encoding_format` as OpenAI does (`'base64'`: each
   * vector as base64 of little-endian float32). Default true; false always answers arrays of
   * numbers, as endpoints that ignore the field do.
   */
  honourEncodingFormat?: boolean
  /** The line end of this endpoint's SSE events: `'lf'` (default), `'crlf'` or `'cr'`. */
  sseLineEnd?: SseLineEnd
  /** Form of this endpoint's data-plane error bodies. Default `'string'`. */
  errorForm?: ErrorForm
  /** Serve this feature spec (`catalog.schema.feature_spec`): `dataframe_records` in, `outputs` out. Default: a model. */
  featureSpec?: string
  /** The served model's Unity Catalog name and version. Default `main.default.<name with _>` version `'1'`. */
  entityName?: string
  entityVersion?: string
}

/** How an endpoint ends the lines of its server-sent events. */
export type SseLineEnd = 'lf' | 'crlf' | 'cr'

/** A served entity as the control plane reports it: a model (with a version) or a feature spec (without). */
export interface ServedEntityInfo {
  name: string
  entityName: string
  /** Undefined for a feature spec. */
  entityVersion: string | undefined
  workloadType: string
  workloadSize: 'Small' | 'Medium' | 'Large'
  scaleToZeroEnabled: boolean
}

/** A served endpoint with every default filled in. Mutable on purpose: tests may flip `ready` mid-run. */
export interface EmulatorEndpointInfo {
  name: string
  id: string
  routeOptimized: boolean
  ready: boolean
  workspaceUrlAllowed: boolean
  servedModelName: string
  task: EmulatorTask | undefined
  defaultMaxTokens: number
  streamIntervalMs: number
  embeddingDimensions: number
  honourEncodingFormat: boolean
  sseLineEnd: SseLineEnd
  errorForm: ErrorForm
  /** The active config's entities; the first one serves (and names `servedModelName`). */
  servedEntities: ServedEntityInfo[]
  configVersion: number
  /** `IN_PROGRESS` while a created endpoint or a config update settles. */
  configUpdate: 'NOT_UPDATING' | 'IN_PROGRESS'
  createdAt: number
  updatedAt: number
  creator: string
  /** A config update not yet applied, and the clock time (`now()`) it lands; likewise `readyAt` for a created endpoint. */
  pending?: { servedEntities: ServedEntityInfo[], configVersion: number, at: number }
  readyAt?: number
}

/**
 * An account's federation policy (workload identity federation): a JWT from `issuer` for
 * `audience` whose `sub` is `subject`, signed by a key of `jwks`, may act as the principal
 * `clientId` (default: the first principal) through the RFC 8693 token exchange.
 */
export interface FederationPolicy {
  clientId?: string
  issuer: string
  audience: string
  subject: string
  /** The issuer's public keys, as its JWKS endpoint would publish them. */
  jwks: { keys: Array<Record<string, unknown>> }
}

export interface EmulatorOptions {
  /** Federation policies for `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`. Default: none. */
  federationPolicies?: FederationPolicy[]
  /**
   * Derives the workspace id, the default principal's client id and secret, and endpoint ids
   * deterministically (HMAC-SHA256 of the seed), so a config written for this emulator survives
   * restarts. Explicit values win. Default: random at every start.
   */
  seed?: string
  /** Default: 16 random digits (or derived from `seed`). */
  workspaceId?: string
  /** Default: one principal allowed every action on every endpoint, with a generated id and secret. */
  principals?: EmulatorPrincipal[]
  /** Default: `[{ name: 'fraud-model' }, { name: 'feed-ads' }]`. */
  endpoints?: EmulatorEndpoint[]
  /** `expires_in` of minted tokens, whole seconds. Default 3600. */
  tokenTtlSeconds?: number
  /** `expires_in` of jwt-bearer exchanged tokens, whole seconds. Default: `tokenTtlSeconds`. */
  dataPlaneTokenTtlSeconds?: number
  /** Millisecond clock for token issue and expiry. Default `Date.now`. */
  now?: () => number
  /** Uniform in [0, 1): picks from data-plane latency distributions (`delays`). Default `Math.random`. */
  random?: () => number
  /** Fastify `logger` option; a pino-like instance is passed as `loggerInstance`. Default false. */
  logger?: boolean | object
  /** Delay between SSE chunks. Default 10 ms. */
  streamIntervalMs?: number
  /** Completion tokens (= stream chunks) when a body has no `max_tokens`. Default 5. */
  defaultMaxTokens?: number
  /**
   * How long an endpoint created through `POST /api/2.0/serving-endpoints` stays `NOT_READY` (and a
   * config update `IN_PROGRESS`), in milliseconds of the `now` clock. Default 500.
   */
  readyDelayMs?: number
}

export interface TlsListenerOptions {
  /** Where the CA, certificate and key are kept (reused while valid). Default `<os tmpdir>/databricks-emulator-tls`. */
  dir?: string
  /** Default 0 (any free port). */
  port?: number
  /** Default: the emulator's `host`. */
  host?: string
}

export interface StartEmulatorOptions extends EmulatorOptions {
  /** Default `127.0.0.1`. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  /** A second, HTTPS listener serving the same emulator with a certificate from a generated test CA. Default none. */
  tls?: boolean | TlsListenerOptions
}

/** The HTTPS listener of a started emulator. */
export interface RunningTls {
  /** e.g. `https://127.0.0.1:41235`; the certificate also names `localhost` and `::1`. */
  url: string
  /** The CA certificate to trust (`NODE_EXTRA_CA_CERTS`, undici's `connect.ca`, curl's `--cacert`). */
  caPath: string
  certPath: string
  keyPath: string
  /** The CA certificate, PEM. */
  ca: string
}

export interface RevokeFilter {
  /** Endpoint name: revoke only tokens scoped to it. Default: every token. */
  endpoint?: string
}

export interface Emulator {
  app: FastifyInstance
  workspaceId: string
  endpoints: Record<string, EmulatorEndpointInfo>
  principals: EmulatorPrincipal[]
  faults: FaultController
  /** A fresh snapshot of the counters. */
  stats: () => EmulatorStats
  /** The inference-log rows, oldest first (of one endpoint when named). */
  inferenceLog: (endpoint?: string) => InferenceRow[]
  /** Successful mints covering `endpointName` with `action`. */
  mintsFor: (endpointName: string, action?: EmulatorAction) => number
  /** Marks matching live tokens revoked; returns how many. */
  revoke: (filter?: RevokeFilter) => number
  /** Clears stats and faults (tokens stay valid). */
  reset: () => void
  /** The recorded SSE streams, oldest first (the last 100), or the one answered with this `x-request-id`. */
  streams: () => StreamRecord[]
  stream: (requestId: string) => StreamRecord | undefined
  /**
   * Resolves with the stream's record once it has ended (completed, cancelled, reset or closed);
   * without `requestId`, the most recently started stream. Rejects after `timeoutMs` (default 5000).
   */
  streamEnded: (requestId?: string, timeoutMs?: number) => Promise<StreamRecord>
}

export interface RunningEmulator extends Emulator {
  /** e.g. `http://127.0.0.1:41234`, no trailing slash. */
  url: string
  /** The route-optimized invocation URL of `name`. */
  endpointUrl: (name: string) => string
  /** Present when started with `tls`. */
  tls?: RunningTls
  close: () => Promise<void>
}
