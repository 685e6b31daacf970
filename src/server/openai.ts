// The OpenAI-compatible surface, as pure helpers: which paths it has, how a request names its
// endpoint (`model` in a JSON body, found without parsing it), what is forwarded (the same JSON minus `model`: route-
// optimized endpoints take only `/invocations`, and custom-model signatures may refuse unknown
// fields), and the model list. docs/http.md "OpenAI-compatible routes" is the contract.
import type { IncomingMessage } from 'node:http'
import { isName } from '../config/names.js'
import { BadRequest, UnsupportedMediaType } from '../errors.js'
import { assemble, ObjectScanner } from './json-scan.js'

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
  /**
   * The endpoint the body names; undefined when `model` is a string too long (over
   * MAX_MODEL_BYTES as sent) to name any endpoint, so it is not decoded.
   */
  model: string | undefined
  /** The JSON to forward: the caller's bytes less the top-level `model` member(s). */
  body: Buffer
}

/** Longest `model` string, in bytes as sent, that is decoded (an endpoint name has at most 63 characters). */
export const MAX_MODEL_BYTES = 512

/** Splits a body fed chunk by chunk as it arrives (so no chunk holds the event loop for long). */
export interface ModelSplitter {
  /** Scans the next chunk of the body. */
  write: (chunk: Buffer) => void
  /** The split, given the whole body (the chunks written, in one Buffer). */
  end: (body: Buffer) => ModelRequest
}

/**
 * Reads an OpenAI request body in one linear pass (src/server/json-scan.ts): it is never parsed
 * into objects, so no shape (deep nesting, millions of tiny containers) costs more than a few
 * milliseconds per MiB or more than a few times its size in memory. 400 when the body is not a
 * JSON object or its `model` is missing, not a string, or empty. The forwarded bytes are the
 * caller's own, less the top-level `model` member(s): nothing is re-serialized, so big integers,
 * key order and number spellings reach the endpoint as sent.
 */
export function createModelSplitter (): ModelSplitter {
  const scanner = new ObjectScanner({ name: 'model', maxValueBytes: MAX_MODEL_BYTES })
  return {
    write: (chunk) => { scanner.write(chunk) },
    end (body) {
      const scan = scanner.end()
      if (scan.verdict === 'invalid') throw new BadRequest('request body is not valid JSON')
      if (scan.verdict === 'not-object') throw new BadRequest('request body must be a JSON object')
      const { member } = scan
      if (member.kind === 'long-string') return { model: undefined, body: assemble(body, scan) }
      if (member.kind !== 'string' || member.text === '') throw new BadRequest("request body needs a 'model' string naming the endpoint")
      return { model: member.text, body: assemble(body, scan) }
    }
  }
}

/** {@link createModelSplitter} on a body already read whole. */
export function splitModel (raw: Buffer): ModelRequest {
  const splitter = createModelSplitter()
  splitter.write(raw)
  return splitter.end(raw)
}

/**
 * The bytes of a JSON object (already validated) without its top-level members named `name`,
 * kept members copied byte for byte and joined by `,`; `json` itself when there is none.
 */
export function withoutMember (json: Buffer, name: string): Buffer {
  const scanner = new ObjectScanner({ name })
  scanner.write(json)
  return assemble(json, scanner.end())
}

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
