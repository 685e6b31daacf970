// Keeps a copy of a relayed answer for the response cache while it streams to the caller: at
// most maxEntryBytes are held, and only a whole 200 JSON answer is handed to the cache.
import type { AnswerTap } from '../proxy/relay.js'
import { storable, type CachedAnswer } from './response-cache.js'

export function captureAnswer (maxEntryBytes: number, settle: (answer: CachedAnswer | undefined) => void): AnswerTap {
  let chunks: Buffer[] | undefined
  let bytes = 0
  let status = 0
  let headers: Record<string, string | string[] | undefined> = {}
  return {
    start (s, h) {
      status = s
      headers = h
      // Decided at the head where it can be: an error or a stream is never kept.
      if (storable(status, headers, 0, maxEntryBytes)) chunks = []
      else settle(undefined)
    },
    data (chunk) {
      if (chunks === undefined) return
      bytes += chunk.length
      if (bytes > maxEntryBytes) {
        chunks = undefined
        settle(undefined)
        return
      }
      chunks.push(chunk)
    },
    end () {
      if (chunks === undefined) return
      const body = Buffer.concat(chunks, bytes)
      chunks = undefined
      settle({ contentType: String(headers['content-type']), body })
    },
    error () {
      chunks = undefined
      settle(undefined)
    }
  }
}
