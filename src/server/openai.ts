// The OpenAI-compatible surface, as pure helpers: which paths it has, how a request names its
// endpoint (`model` in a JSON body), what is forwarded (the same JSON minus `model`: route-
// optimized endpoints take only `/invocations`, and custom-model signatures may refuse unknown
// fields), and the model list. README "OpenAI-compatible routes" is the contract.
import type { IncomingMessage } from 'node:http'
import { isName } from '../config/names.js'
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

export interface ModelRequest {
  /** The endpoint the body names. */
  model: string
  /** The JSON to forward: the same value less `model`. */
  body: Buffer
}

/**
 * Splits a request body into the endpoint it names and the body to forward. 400 when it is not
 * a JSON object or its `model` is missing, not a string, or empty. The forwarded bytes are the
 * caller's own, less the top-level `model` member(s): nothing is re-serialized, so big integers,
 * key order and number spellings reach the endpoint as sent.
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
  return { model, body: withoutMember(raw, 'model') }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN = new Set([0x7b, 0x5b])
const CLOSE = new Set([0x7d, 0x5d])
const WS = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * The bytes of a JSON object (already validated) without its top-level members named `name`.
 * JSON's structural characters are ASCII and never occur inside a UTF-8 multi-byte sequence, so
 * scanning bytes is exact. Members kept are copied byte for byte, joined by `,`.
 */
export function withoutMember (json: Buffer, name: string): Buffer {
  const skipWs = (i: number): number => { while (WS.has(json[i] as number)) i++; return i }
  const endOfString = (i: number): number => {
    for (i++; json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++
    return i + 1
  }
  const endOfValue = (i: number): number => {
    if (json[i] === QUOTE) return endOfString(i)
    if (OPEN.has(json[i] as number)) {
      let depth = 0
      for (; ; i++) {
        const c = json[i] as number
        if (c === QUOTE) { i = endOfString(i) - 1; continue }
        if (OPEN.has(c)) depth++
        else if (CLOSE.has(c) && --depth === 0) return i + 1
      }
    }
    while (i < json.length && json[i] !== COMMA && !CLOSE.has(json[i] as number) && !WS.has(json[i] as number)) i++
    return i
  }
  const open = skipWs(0)
  const kept: Buffer[] = []
  let removed = false
  let i = skipWs(open + 1)
  let close = i
  while (json[i] === QUOTE) {
    const keyEnd = endOfString(i)
    const valueEnd = endOfValue(skipWs(skipWs(keyEnd) + 1))
    if (JSON.parse(json.toString('utf8', i, keyEnd)) === name) removed = true
    else kept.push(json.subarray(i, valueEnd))
    i = skipWs(valueEnd)
    close = i
    if (json[i] === COMMA) i = skipWs(i + 1)
  }
  if (!removed) return json
  const parts: Buffer[] = [json.subarray(0, open + 1)]
  kept.forEach((member, n) => { parts.push(n === 0 ? member : Buffer.concat([COMMA_BYTE, member])) })
  parts.push(json.subarray(close))
  return Buffer.concat(parts)
}
const COMMA_BYTE = Buffer.from(',')

/** Whether a model name may be echoed in an error message (plain, short: no log or header injection). */
export function echoableModel (model: string): boolean {
  return isName(model)
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
