// Where events end in an event stream, chunk by chunk: the relay forwards only whole events, so
// a stream cut mid-event never shows the caller a truncated one (docs/http.md "Gateway listener"). An event
// ends at a blank line; a line ends at CRLF, LF or CR (the WHATWG HTML "server-sent events"
// parsing rules), in any mix, and a terminator may be split across chunks (CR | LF).

const LF = 0x0a
const CR = 0x0d

/**
 * Where the scan stands after the last byte seen: at the start of a line (the stream's start, or
 * after a line's terminator: a terminator here is a blank line); inside a line; just after a CR
 * that ended a line with text (an LF next belongs to it: CRLF); just after a CR that ended a
 * blank line, an event's end (an LF next belongs to it too).
 */
export type SseState = 'lineStart' | 'inLine' | 'crLine' | 'crEvent'

/** The carried state of one stream's scan; starts at the stream's start. */
export interface SseScan { state: SseState }

export function createSseScan (): SseScan {
  return { state: 'lineStart' }
}

/**
 * How many leading bytes of `chunk` end on an event boundary (0: none), given the state `scan`
 * carries from the chunks before; `scan` is moved on to the end of `chunk`. Bytes past the
 * returned index belong to an event not yet complete. It jumps from terminator to terminator
 * with indexOf, so a chunk costs one native search per line, not a step per byte.
 */
export function completeEventsEnd (chunk: Uint8Array, scan: SseScan): number {
  const len = chunk.length
  let state: SseState = scan.state
  let end = 0
  let i = 0
  let nextLf = -2
  let nextCr = -2
  while (i < len) {
    const b = chunk[i] as number
    if (state === 'crLine' || state === 'crEvent') {
      if (b === LF) {
        // The second half of a CRLF: it ends the same line (and, after a blank line, the same event).
        i++
        if (state === 'crEvent') end = i
        state = 'lineStart'
        continue
      }
      state = 'lineStart'
    }
    if (state === 'lineStart') {
      if (b === LF) {
        end = ++i
        continue
      }
      if (b === CR) {
        end = ++i
        state = 'crEvent'
        continue
      }
    }
    // Inside a line: jump to its terminator (the nearer of the next LF and the next CR).
    if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i)
    if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i)
    const t = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr)
    if (t === -1) {
      state = 'inLine'
      break
    }
    i = t + 1
    state = chunk[t] === LF ? 'lineStart' : 'crLine'
  }
  scan.state = state
  return end
}
