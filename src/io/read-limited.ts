// Reads a response body from a party the gateway does not trust (token endpoint, control plane,
// identity provider) with a cap: past `limit` bytes the body is dropped and the read fails, so
// a huge or endless answer costs at most `limit` bytes of memory.

import { BodyTooLarge } from '../errors.js'

/** Anything a body can be read from: undici's BodyReadable, a Node stream, an async iterable. */
export type ByteSource = AsyncIterable<Uint8Array | string> & { destroy?: (err?: Error) => unknown }

/** One MiB: the cap of token, discovery and JWKS responses. */
export const CONTROL_BODY_LIMIT = 1024 * 1024

export async function readLimited (body: ByteSource, limit: number = CONTROL_BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    size += b.length
    if (size > limit) {
      const err = new BodyTooLarge(limit)
      body.destroy?.(err)
      throw err
    }
    chunks.push(b)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}
