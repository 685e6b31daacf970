// What an OpenAI-compatible request reserves from its token budgets at admission: the completion
// it may ask for (max_completion_tokens or max_tokens, else a default) plus its prompt, estimated
// as the body's bytes ÷ 4. The answer's `usage` replaces it later (docs/governance.md).

/** Reads the requested completion size off a raw JSON body; swappable for the routing scanner's own. */
export type MaxTokensReader = (raw: Buffer) => number | undefined

/** Largest completion size taken from a body: anything above is a caller's typo, not a plan. */
const MAX_READ = 1e9

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN = new Set([0x7b, 0x5b])
const CLOSE = new Set([0x7d, 0x5d])
const WS = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * `max_completion_tokens` (preferred, as OpenAI documents) or `max_tokens` of a JSON object's
 * top level, when a non-negative integer. One linear pass over the bytes; JSON.parse only sees
 * member names and the short value slices it needs. Not a validator: anything unexpected is
 * "not given" (the caller's body has been checked by routing already).
 */
export function maxTokensOf (raw: Buffer): number | undefined {
  const n = raw.length
  const skipWs = (i: number): number => { while (i < n && WS.has(raw[i] as number)) i++; return i }
  const endOfString = (i: number): number => {
    for (i++; i < n && raw[i] !== QUOTE; i++) if (raw[i] === BACKSLASH) i++
    return i + 1
  }
  const endOfValue = (i: number): number => {
    if (raw[i] === QUOTE) return endOfString(i)
    if (OPEN.has(raw[i] as number)) {
      let depth = 0
      for (; i < n; i++) {
        const c = raw[i] as number
        if (c === QUOTE) { i = endOfString(i) - 1; continue }
        if (OPEN.has(c)) depth++
        else if (CLOSE.has(c) && --depth === 0) return i + 1
      }
      return n
    }
    while (i < n && raw[i] !== COMMA && !CLOSE.has(raw[i] as number) && !WS.has(raw[i] as number)) i++
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
    // Only short keys can be one of the two names: no long key is ever parsed.
    if (keyEnd - i <= 40) {
      const key = parseOr(raw.toString('utf8', i, keyEnd))
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
