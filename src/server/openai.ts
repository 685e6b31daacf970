// The OpenAI-compatible surface, as pure helpers: which paths it has, how a request names its
// endpoint (`model` in a JSON body), what is forwarded (the same JSON minus `model`: route-
// optimized endpoints take only `/invocations`, and custom-model signatures may refuse unknown
// fields), and the model list. README "OpenAI-compatible routes" is the contract.
import type { IncomingMessage } from 'node:http'
import { BadRequest, UnsupportedMediaType } from '../errors.js'

/** The three body-carrying routes, and the model list. */
export type OpenAiRoute = 'chat/completions' | 'completions' | 'embeddings' | 'models'

const ROUTES: ReadonlyMap<string, OpenAiRoute> = new Map(
  (['chat/completions', 'completions', 'embeddings', 'models'] as const).flatMap(r => [
    [`/serving-endpoints/${r}`, r], [`/v1/${r}`, r]
  ])
)

/** Every path of the surface (for the 405 answers of other methods). */
export const OPENAI_PATHS: readonly string[] = [...ROUTES.keys()]

/** The route a URL names (a query string is ignored), or undefined. */
export function openAiRoute (url: string | undefined): OpenAiRoute | undefined {
  if (url === undefined) return undefined
  const q = url.indexOf('?')
  return ROUTES.get(q === -1 ? url : url.slice(0, q))
}

const JSON_TYPE = /^application\/(?:[A-Za-z0-9.+-]*\+)?json\s*(?:;|$)/i

/**
 * The body must be JSON (`application/json` or `+json`) without a content coding: the gateway
 * reads `model` from it. Otherwise 415, before a byte is read.
 */
export function checkJsonBody (req: IncomingMessage): void {
  const type = req.headers['content-type']
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw new UnsupportedMediaType('OpenAI-compatible routes take a JSON body (Content-Type: application/json)')
  }
  const coding = req.headers['content-encoding']
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    throw new UnsupportedMediaType('OpenAI-compatible routes take an uncompressed body (no Content-Encoding)')
  }
}

const PLAIN_MODEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

export interface ModelRequest {
  /** The endpoint the body names. */
  model: string
  /** The JSON to forward: the same value less `model`. */
  body: Buffer
}

/**
 * Splits a request body into the endpoint it names and the body to forward. 400 when it is not
 * a JSON object or its `model` is missing, not a string, or empty.
 */
export function splitModel (raw: Buffer): ModelRequest {
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new BadRequest('request body is not valid JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRequest('request body must be a JSON object')
  const fields = value as Record<string, unknown>
  const model = Object.hasOwn(fields, 'model') ? fields.model : undefined
  if (typeof model !== 'string' || model === '') throw new BadRequest("request body needs a 'model' string naming the endpoint")
  delete fields.model
  return { model, body: Buffer.from(JSON.stringify(fields)) }
}

/** Whether a model name may be echoed in an error message (plain, short: no log or header injection). */
export function echoableModel (model: string): boolean {
  return PLAIN_MODEL.test(model)
}

export interface ModelList {
  object: 'list'
  data: Array<{ id: string, object: 'model', created: number, owned_by: 'routegate' }>
}

/** The model list for `names` (the endpoints the caller may use), `created` in unix seconds. */
export function modelList (names: readonly string[], createdMs: number): ModelList {
  const created = Math.floor(createdMs / 1000)
  return { object: 'list', data: names.map(id => ({ id, object: 'model', created, owned_by: 'routegate' })) }
}
