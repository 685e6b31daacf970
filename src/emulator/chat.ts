// Deterministic OpenAI-style chat completions and stream chunks (DATABRICKS.md §3.3).
import { randomHex } from './random.js'

export interface ChatRequest {
  maxTokens: number
  stream: boolean
  promptTokens: number
}

export type ChatParse = { ok: true, request: ChatRequest } | { ok: false, message: string }

const DEFAULT_MAX_TOKENS = 5
const MAX_TOKENS_CAP = 1000

export function parseChat (body: Record<string, unknown>): ChatParse {
  const { messages, max_tokens: maxTokens = DEFAULT_MAX_TOKENS, stream = false } = body
  if (!Array.isArray(messages) || messages.length === 0 ||
      !messages.every(m => typeof m === 'object' && m !== null && typeof (m as Record<string, unknown>).role === 'string')) {
    return { ok: false, message: 'messages must be a nonempty array of {role, content} objects.' }
  }
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1) return { ok: false, message: 'max_tokens must be a positive integer.' }
  if (typeof stream !== 'boolean') return { ok: false, message: 'stream must be a boolean.' }
  const promptTokens = messages.reduce((n: number, m: Record<string, unknown>) =>
    n + (typeof m.content === 'string' ? m.content.split(/\s+/).filter(Boolean).length : 0), 0)
  return { ok: true, request: { maxTokens: Math.min(maxTokens as number, MAX_TOKENS_CAP), stream, promptTokens } }
}

/** Token i of every reply: 't0', ' t1', ' t2', … so a stream concatenates to the non-streamed content. */
export function tokenText (i: number): string {
  return i === 0 ? 't0' : ` t${i}`
}

export function chatCompletion (req: ChatRequest, model: string, nowMs: number): object {
  const content = Array.from({ length: req.maxTokens }, (_, i) => tokenText(i)).join('')
  return {
    id: `chatcmpl-${randomHex(12)}`,
    object: 'chat.completion',
    created: Math.floor(nowMs / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: req.promptTokens, completion_tokens: req.maxTokens, total_tokens: req.promptTokens + req.maxTokens }
  }
}

/** Builds the chunks of one streamed reply; they share an id and creation time. */
export function chunkFactory (req: ChatRequest, model: string, nowMs: number): (i: number) => object {
  const id = `chatcmpl-${randomHex(12)}`
  const created = Math.floor(nowMs / 1000)
  return i => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{
      index: 0,
      delta: i === 0 ? { role: 'assistant', content: tokenText(i) } : { content: tokenText(i) },
      finish_reason: i === req.maxTokens - 1 ? 'stop' : null
    }]
  })
}
