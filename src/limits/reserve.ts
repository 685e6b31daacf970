// What an OpenAI-compatible request reserves from its token budgets at admission: the completion
// it may ask for (max_completion_tokens or max_tokens, else a default) plus its prompt, estimated
// as the body's bytes ÷ 4. The answer's `usage` replaces it later (docs/governance.md).

import { hasEscape } from '../server/json-scan.js'

/** Reads the requested completion size off a raw JSON body; swappable for the routing scanner's own. */
export type MaxTokensReader = (raw: Buffer) => number | undefined

/** Largest completion size taken from a body: anything above is a caller's typo, not a plan. */
const MAX_READ = 1e9

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
// Byte tests as plain comparisons: a Set look-up per byte cost several times the scan itself.
const isOpen = (c: number | undefined): boolean => c === 0x7b || c === 0x5b
const isClose = (c: number | undefined): boolean => c === 0x7d || c === 0x5d
const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/**
 * `max_completion_tokens` (preferred, as OpenAI documents) or `max_tokens` of a JSON object's
 * top level, when a non-negative integer. One linear pass over the bytes; JSON.parse only sees
 * member names and the short value slices it needs. Not a validator: anything unexpected is
 * "not given" (the caller's body has been checked by routing already).
 */
export function maxTokensOf (raw: Buffer): number | undefined {
  const n = raw.length
  const skipWs = (i: number): number => { while (i < n && isWs(raw[i])) i++; return i }
  const endOfString = (i: number): number => {
    for (i++; i < n && raw[i] !== QUOTE; i++) if (raw[i] === BACKSLASH) i++
    return i + 1
  }
  const endOfValue = (i: number): number => {
    if (raw[i] === QUOTE) return endOfString(i)
    if (isOpen(raw[i])) {
      let depth = 0
      for (; i < n; i++) {
        const c = raw[i] as number
        if (c === QUOTE) { i = endOfString(i) - 1; continue }
        if (isOpen(c)) depth++
        else if (isClose(c) && --depth === 0) return i + 1
      }
      return n
    }
    while (i < n && raw[i] !== COMMA && !isClose(raw[i]) && !isWs(raw[i])) i++
    return i
  }
  let i = skipWs(0)
  if (raw[i] !== 0x7b) return undefined
  i = skipWs(i + 1)
  let maxTokens: number | undefined
  let maxCompletion: number | undefined
  while (i < n && raw[i] === QUOTE) {
    const keyEnd = endOfString(i)
    const colon = skipWs(keyEnd)
    if (raw[colon] !== COLON) return undefined
    const valueStart = skipWs(colon + 1)
    const valueEnd = endOfValue(valueStart)
    // Only short keys can be one of the two names, and a key without an escape is compared as
    // bytes: nothing is allocated for the other keys, however many a body has.
    if (keyEnd - i <= 40) {
      const key = keyName(raw, i, keyEnd)
      if (key === 'max_tokens' || key === 'max_completion_tokens') {
        const value = valueEnd - valueStart <= 24 ? parseOr(raw.toString('utf8', valueStart, valueEnd)) : undefined
        const count = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? Math.min(value, MAX_READ) : undefined
        if (key === 'max_tokens') maxTokens = count
        else maxCompletion = count
      }
    }
    i = skipWs(valueEnd)
    if (raw[i] !== COMMA) break
    i = skipWs(i + 1)
  }
  return maxCompletion ?? maxTokens
}

const NAMES = ['max_tokens', 'max_completion_tokens'].map(name => ({ name, quoted: Buffer.from(`"${name}"`) }))

/** The key `raw[start, end)` (quotes included) when it is one of NAMES, else undefined. */
function keyName (raw: Buffer, start: number, end: number): string | undefined {
  for (const { name, quoted } of NAMES) {
    if (end - start === quoted.length && raw.compare(quoted, 0, quoted.length, start, end) === 0) return name
  }
  if (!hasEscape(raw, start, end)) return undefined
  const key = parseOr(raw.toString('utf8', start, end))
  return typeof key === 'string' && NAMES.some(n => n.name === key) ? key : undefined
}

function parseOr (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Tokens to reserve: the completion asked for (or `defaultReserve`; none for embeddings, which
 * have no completion) plus the prompt estimated at 4 bytes a token.
 */
export function reserveTokens (raw: Buffer, route: string, defaultReserve: number, read: MaxTokensReader = maxTokensOf): number {
  const completion = route === 'embeddings' ? 0 : read(raw) ?? defaultReserve
  return completion + Math.ceil(raw.length / 4)
}
