// Token usage of an OpenAI-compatible answer, read off the response as it streams past (never
// holding it back): a JSON answer's `usage`, or the last `usage` of an event stream (OpenAI's
// `stream_options.include_usage` chunk). Only the OpenAI-compatible routes pay for this; the
// invocation route never does.

export interface Usage {
  promptTokens: number
  completionTokens: number
}

/** JSON answers above this are not parsed for usage (their bytes still pass through). */
export const USAGE_JSON_CAP = 1024 * 1024
/** How much of an event stream's end is kept to find its last usage. */
export const USAGE_SSE_TAIL = 16 * 1024

const COUNT = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The usage of a parsed answer: `prompt_tokens` and (0 when absent, as for embeddings) `completion_tokens`. */
export function usageOf (value: unknown): Usage | undefined {
  const usage = (value as { usage?: unknown } | null)?.usage as Record<string, unknown> | null | undefined
  if (typeof usage !== 'object' || usage === null) return undefined
  const prompt = usage.prompt_tokens
  const completion = usage.completion_tokens ?? 0
  if (!COUNT(prompt) || !COUNT(completion)) return undefined
  return { promptTokens: prompt, completionTokens: completion }
}

/** The usage of a JSON answer's text, if it is JSON with a well-formed `usage`. */
export function usageFromJson (text: string): Usage | undefined {
  try {
    return usageOf(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** The last well-formed usage among the `data:` events of an event stream's tail. */
export function usageFromSse (tail: string): Usage | undefined {
  const lines = tail.split(/\r?\n/)
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string
    if (!line.startsWith('data:') || !line.includes('"usage"')) continue
    const found = usageFromJson(line.slice(5).trim())
    if (found !== undefined) return found
  }
  return undefined
}

/** Collects what usageFromJson/usageFromSse need of one response, bounded. */
export class UsageTap {
  readonly #sse: boolean
  #chunks: Buffer[] = []
  #size = 0
  #over = false

  constructor (sse: boolean) {
    this.#sse = sse
  }

  push (chunk: Buffer): void {
    if (this.#over) return
    this.#chunks.push(chunk)
    this.#size += chunk.length
    if (this.#sse) {
      // Keep only the stream's last USAGE_SSE_TAIL bytes (whole chunks: lines stay intact).
      while (this.#chunks.length > 1 && this.#size - (this.#chunks[0] as Buffer).length >= USAGE_SSE_TAIL) {
        this.#size -= (this.#chunks.shift() as Buffer).length
      }
    } else if (this.#size > USAGE_JSON_CAP) {
      this.#over = true
      this.#chunks = []
    }
  }

  usage (): Usage | undefined {
    if (this.#over || this.#size === 0) return undefined
    const text = Buffer.concat(this.#chunks, this.#size).toString('utf8')
    return this.#sse ? usageFromSse(text) : usageFromJson(text)
  }
}
