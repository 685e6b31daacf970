// Deterministic answers in Databricks' OpenAI-compatible shapes: chat, completions, embeddings, and their stream chunks.
import { createHash } from 'node:crypto'
import { randomHex } from './random.js'

/** Which OpenAI-compatible shape a request takes. */
export type OpenAiKind = 'chat' | 'completions' | 'embeddings'

export interface GenerationRequest {
  kind: 'chat' | 'completions'
  /** Completion tokens per choice, which is also the number of content chunks of a stream. */
  maxTokens: number
  stream: boolean
  /** `stream_options.include_usage`: a last chunk with `usage` and no choices. */
  includeUsage: boolean
  promptTokens: number
  /** One choice per prompt (completions with an array prompt); 1 for chat. */
  choices: number
}

export interface EmbeddingsRequest {
  kind: 'embeddings'
  inputs: string[]
  promptTokens: number
  /** `encoding_format`: `'base64'` answers each vector as base64 of little-endian float32. */
  encoding: 'float' | 'base64'
}

export type OpenAiRequest = GenerationRequest | EmbeddingsRequest
export type OpenAiParse = { ok: true, request: OpenAiRequest } | { ok: false, message: string }

const MAX_TOKENS_CAP = 1000

/** The OpenAI-compatible kind a body asks for by its fields, or undefined for the custom-model formats. */
export function kindOf (body: Record<string, unknown>): OpenAiKind | undefined {
  if (Object.hasOwn(body, 'messages')) return 'chat'
  if (Object.hasOwn(body, 'prompt')) return 'completions'
  if (Object.hasOwn(body, 'input')) return 'embeddings'
  return undefined
}

/** `honourEncodingFormat` false: embeddings ignore `encoding_format` and always answer numbers. */
export function parseOpenAi (kind: OpenAiKind, body: Record<string, unknown>, defaultMaxTokens: number, honourEncodingFormat = true): OpenAiParse {
  if (kind === 'embeddings') return parseEmbeddings(body, honourEncodingFormat)
  let promptTokens: number
  let choices = 1
  if (kind === 'chat') {
    const { messages } = body
    if (!Array.isArray(messages) || messages.length === 0 || !messages.every(m => isRecord(m) && typeof m.role === 'string')) {
      return { ok: false, message: 'messages must be a nonempty array of {role, content} objects.' }
    }
    promptTokens = messages.reduce((n: number, m: Record<string, unknown>) => n + contentTokens(m.content), 0)
  } else {
    const { prompt } = body
    const prompts = typeof prompt === 'string' ? [prompt] : prompt
    if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every(p => typeof p === 'string')) {
      return { ok: false, message: 'prompt must be a string or a nonempty array of strings.' }
    }
    promptTokens = prompts.reduce((n: number, p: string) => n + words(p), 0)
    choices = prompts.length
  }
  const { max_tokens: maxTokens = defaultMaxTokens, stream = false, stream_options: streamOptions } = body
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1) return { ok: false, message: 'max_tokens must be a positive integer.' }
  if (typeof stream !== 'boolean') return { ok: false, message: 'stream must be a boolean.' }
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isRecord(streamOptions)) return { ok: false, message: 'stream_options must be an object.' }
    if (!stream) return { ok: false, message: 'stream_options is only allowed when stream is true.' }
  }
  const includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true
  return { ok: true, request: { kind, maxTokens: Math.min(maxTokens as number, MAX_TOKENS_CAP), stream, includeUsage, promptTokens, choices } }
}

function parseEmbeddings (body: Record<string, unknown>, honourEncodingFormat: boolean): OpenAiParse {
  const { input } = body
  const inputs = typeof input === 'string' ? [input] : input
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every(i => typeof i === 'string')) {
    return { ok: false, message: 'input must be a string or a nonempty array of strings.' }
  }
  if (body.stream !== undefined && body.stream !== false) return { ok: false, message: 'Embeddings cannot be streamed.' }
  let encoding: 'float' | 'base64' = 'float'
  if (honourEncodingFormat && body.encoding_format !== undefined && body.encoding_format !== null) {
    // OpenAI's two values; anything else is refused, as OpenAI does.
    if (body.encoding_format !== 'float' && body.encoding_format !== 'base64') return { ok: false, message: "encoding_format must be 'float' or 'base64'." }
    encoding = body.encoding_format
  }
  return { ok: true, request: { kind: 'embeddings', inputs, promptTokens: inputs.reduce((n: number, i: string) => n + words(i), 0), encoding } }
}

/** Token i of every reply: 't0', ' t1', ' t2', … so a stream concatenates to the non-streamed content. */
export function tokenText (i: number): string {
  return i === 0 ? 't0' : ` t${i}`
}

function usage (req: { promptTokens: number }, completionTokens: number): object {
  return { prompt_tokens: req.promptTokens, completion_tokens: completionTokens, total_tokens: req.promptTokens + completionTokens }
}

/** The whole (non-streamed) answer to a chat or completions request. */
export function completion (req: GenerationRequest, model: string, nowMs: number): object {
  const content = Array.from({ length: req.maxTokens }, (_, i) => tokenText(i)).join('')
  const common = { created: Math.floor(nowMs / 1000), model, usage: usage(req, req.maxTokens * req.choices) }
  if (req.kind === 'chat') {
    return {
      id: `chatcmpl-${randomHex(12)}`,
      object: 'chat.completion',
      ...common,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }]
    }
  }
  return {
    id: `cmpl-${randomHex(12)}`,
    object: 'text_completion',
    ...common,
    choices: Array.from({ length: req.choices }, (_, index) => ({ index, text: content, logprobs: null, finish_reason: 'stop' }))
  }
}

/**
 * The data events of one streamed reply, in order: `maxTokens` content chunks, then (with
 * `include_usage`) a usage chunk with no choices. They share an id and creation time.
 */
export function chunksOf (req: GenerationRequest, model: string, nowMs: number): { count: number, chunk: (i: number) => object } {
  const chat = req.kind === 'chat'
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomHex(12)}`
  const common = { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created: Math.floor(nowMs / 1000), model }
  const usageField = req.includeUsage ? { usage: null } : {}
  const chunk = (i: number): object => {
    if (i === req.maxTokens) return { ...common, choices: [], usage: usage(req, req.maxTokens * req.choices) }
    const finish = i === req.maxTokens - 1 ? 'stop' : null
    const choices = chat
      ? [{ index: 0, delta: i === 0 ? { role: 'assistant', content: tokenText(i) } : { content: tokenText(i) }, finish_reason: finish }]
      : Array.from({ length: req.choices }, (_, index) => ({ index, text: tokenText(i), logprobs: null, finish_reason: finish }))
    return { ...common, choices, ...usageField }
  }
  return { count: req.maxTokens + (req.includeUsage ? 1 : 0), chunk }
}

/**
 * One unit vector per input, derived from its text (same text, same vector): numbers, or with
 * `encoding: 'base64'` base64 of their little-endian float32 bytes (what OpenAI answers).
 */
export function embeddings (req: EmbeddingsRequest, model: string, dimensions: number): object {
  const encode = req.encoding === 'base64' ? float32Base64 : (v: number[]) => v
  return {
    object: 'list',
    model,
    data: req.inputs.map((text, index) => ({ object: 'embedding', index, embedding: encode(vectorOf(text, dimensions)) })),
    usage: { prompt_tokens: req.promptTokens, total_tokens: req.promptTokens }
  }
}

/** Base64 of the numbers as little-endian float32, OpenAI's `encoding_format: "base64"`. */
export function float32Base64 (vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4)
  return bytes.toString('base64')
}

function vectorOf (text: string, dimensions: number): number[] {
  const raw: number[] = []
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest()
    for (let i = 0; i + 1 < digest.length && raw.length < dimensions; i += 2) raw.push(digest.readUInt16BE(i) / 32767.5 - 1)
  }
  const norm = Math.hypot(...raw) || 1
  // Rounded so the JSON stays short and identical across platforms.
  return raw.map(v => Math.round((v / norm) * 1e6) / 1e6)
}

/** Whitespace-separated words of a message's content: a string or OpenAI content parts `{type:'text', text}`. */
function contentTokens (content: unknown): number {
  if (typeof content === 'string') return words(content)
  if (Array.isArray(content)) return content.reduce((n: number, part) => n + (isRecord(part) && typeof part.text === 'string' ? words(part.text) : 0), 0)
  return 0
}

function words (text: string): number {
  return text.split(/\s+/).filter(Boolean).length
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
