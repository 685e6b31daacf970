// Embeddings in the encoding the caller asked for. OpenAI's SDKs send `encoding_format: "base64"`
// unless told otherwise and decode every `data[].embedding` as base64 of little-endian float32;
// an endpoint that answers arrays of numbers would be decoded into garbage. When the caller asked
// for base64, the gateway encodes such an answer as OpenAI does
// (docs/http.md "OpenAI-compatible routes"). Pure helpers: whether a request asks for base64, and
// the answer re-encoded.
import { hasEscape } from '../server/json-scan.js'

/** Answers above this are not re-encoded: the caller gets a 502 saying so (ask for floats). */
export const EMBEDDINGS_ANSWER_LIMIT_BYTES = 16 * 1024 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
const KEY = Buffer.from('"encoding_format"')
const BASE64 = Buffer.from('"base64"')
// A key or value spelled with escapes is decoded only when short (a JSON string of a few bytes).
const SHORT = 64

/**
 * Whether a JSON object body's top-level `encoding_format` is `"base64"` (the last one wins, as
 * JSON.parse has it). One linear pass that jumps over strings with indexOf and allocates nothing
 * but for escaped spellings; false for anything that is not such a body.
 */
export function asksBase64Embeddings (raw: Buffer): boolean {
  // Most bodies never name base64 (nor spell it with \u escapes): no scan for them.
  if (raw.indexOf('base64') === -1 && raw.indexOf('\\u') === -1) return false
  let depth = 0
  let keyNext = false
  // Only an object's members have keys: a body that is an array has no top-level key at all.
  const object = raw[firstByte(raw)] === 0x7b
  let asks = false
  const n = raw.length
  for (let i = 0; i < n; i++) {
    const c = raw[i] as number
    if (c === QUOTE) {
      const end = stringEnd(raw, i)
      if (end === -1) return false
      if (depth === 1 && keyNext) {
        keyNext = false
        if (sameString(raw, i, end + 1, KEY, 'encoding_format')) {
          const v = valueStart(raw, end + 1)
          if (v === -1) return false
          if (raw[v] === QUOTE) {
            const vEnd = stringEnd(raw, v)
            if (vEnd === -1) return false
            asks = sameString(raw, v, vEnd + 1, BASE64, 'base64')
            i = vEnd
            continue
          }
          asks = false
        }
      }
      i = end
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++
      keyNext = depth === 1 && object
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
    } else if (c === 0x2c /* , */ && depth === 1 && object) {
      keyNext = true
    }
  }
  return asks
}

/** The index of the quote closing the string that opens at `start`, or -1. */
function stringEnd (raw: Buffer, start: number): number {
  let q = raw.indexOf(QUOTE, start + 1)
  while (q !== -1) {
    let slashes = 0
    while (raw[q - 1 - slashes] === BACKSLASH) slashes++
    if (slashes % 2 === 0) return q
    q = raw.indexOf(QUOTE, q + 1)
  }
  return -1
}

/** The index of the first byte that is not JSON whitespace. */
function firstByte (raw: Buffer): number {
  let i = 0
  while (raw[i] === 0x20 || raw[i] === 0x09 || raw[i] === 0x0a || raw[i] === 0x0d) i++
  return i
}

/** After a key ending at `from`: the index of its value's first byte, or -1. */
function valueStart (raw: Buffer, from: number): number {
  let i = from
  while (i < raw.length && raw[i] !== 0x3a /* : */) i++
  i++
  while (i < raw.length && (raw[i] === 0x20 || raw[i] === 0x09 || raw[i] === 0x0a || raw[i] === 0x0d)) i++
  return i < raw.length ? i : -1
}

/** Whether the JSON string `raw[start, end)` (quotes included) is `text`. */
function sameString (raw: Buffer, start: number, end: number, quoted: Buffer, text: string): boolean {
  if (end - start === quoted.length && raw.compare(quoted, 0, quoted.length, start, end) === 0) return true
  // Long strings are never the name; the escape is looked for within this string alone, so the
  // scan stays linear in the body whatever follows.
  if (end - start > SHORT || !hasEscape(raw, start, end)) return false
  try {
    return JSON.parse(raw.toString('utf8', start, end)) === text
  } catch {
    return false
  }
}

/** Base64 of the numbers as little-endian float32: OpenAI's `encoding_format: "base64"`. */
export function float32Base64 (vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4)
  return bytes.toString('base64')
}

function isNumbers (v: unknown): v is number[] {
  if (!Array.isArray(v)) return false
  for (const x of v) if (typeof x !== 'number') return false
  return true
}

/**
 * An embeddings answer with every `data[].embedding` that is an array of numbers encoded as
 * base64 (strings, already base64, are kept). Undefined when there is nothing to encode or the
 * answer is not an OpenAI embeddings list (not JSON, no `data` array, an entry that is neither
 * numbers nor a string): the caller then gets the answer unchanged.
 */
export function base64Embeddings (answer: Buffer): Buffer | undefined {
  let value: unknown
  try {
    value = JSON.parse(answer.toString('utf8'))
  } catch {
    return undefined
  }
  const data = (value as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) return undefined
  let encode = false
  for (const item of data) {
    const embedding = (item as { embedding?: unknown } | null)?.embedding
    if (isNumbers(embedding)) encode = true
    else if (typeof embedding !== 'string') return undefined
  }
  if (!encode) return undefined
  for (const item of data as Array<{ embedding: number[] | string }>) {
    if (typeof item.embedding !== 'string') item.embedding = float32Base64(item.embedding)
  }
  return Buffer.from(JSON.stringify(value))
}
