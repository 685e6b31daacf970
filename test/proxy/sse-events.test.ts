// completeEventsEnd: where the last whole event of a chunk ends, with LF, CRLF, CR and mixed line
// endings, events split across chunks, and a CRLF split between two chunks.
import t from 'tap'
import { completeEventsEnd, createSseScan, type SseScan } from '../../src/proxy/sse-events.js'

const buf = (s: string): Buffer => Buffer.from(s, 'latin1')

/** Feeds `parts` in order; returns each part's boundary. */
function ends (parts: string[], scan: SseScan = createSseScan()): number[] {
  return parts.map(p => completeEventsEnd(buf(p), scan))
}

t.test('LF events: the boundary is after the last blank line', async t => {
  t.same(ends(['data: a\n\n']), [9])
  t.same(ends(['data: a\n\ndata: b\n\n']), [18])
  t.same(ends(['data: a\n\ndata: b']), [9], 'a partial event is not included')
  t.same(ends(['data: a\n\ndata: b\n']), [9], 'a line without its blank line is not an event end')
  t.same(ends(['data: a\nid: 1\nevent: x\n\n']), [24], 'several lines, one event')
  t.same(ends(['data: a']), [0])
  t.same(ends(['']), [0])
})

t.test('CRLF events, and CR-only events', async t => {
  t.same(ends(['data: a\r\n\r\n']), [11])
  t.same(ends(['data: a\r\n\r\ndata: b\r\n']), [11])
  t.same(ends(['data: a\r\r']), [9])
  t.same(ends(['data: a\r\rdata: b\r']), [9])
})

t.test('mixed line endings end events as the SSE parsing rules say', async t => {
  t.same(ends(['data: a\r\n\n']), [10], 'CRLF then LF')
  t.same(ends(['data: a\n\r\n']), [10], 'LF then CRLF')
  t.same(ends(['data: a\r\n\r']), [10], 'CRLF then CR: the event ends at the CR')
  t.same(ends(['data: a\n\r']), [9])
  t.same(ends(['data: a\r\n']), [0], 'one CRLF is one line end, not two')
  t.same(ends(['data: a\n\rdata']), [9], 'LF then CR is a blank line')
})

t.test('events split across chunks', async t => {
  t.same(ends(['data: {"a"', ':1}\n', '\ndata: b', '\n\n']), [0, 0, 1, 2])
  t.same(ends(['data: a\r\n', '\r\n']), [0, 2])
  t.same(ends(['data: a\r', '\n\r\n']), [0, 3])
  t.same(ends(['data: a\n', 'x\n\n']), [0, 3], 'a line start carried over, then more lines')
})

t.test('a CR|LF split across chunks: the LF ends the same line or the same event', async t => {
  // Blank line by CR at a chunk's end: the event ends there, and the LF that follows belongs to it.
  const scan = createSseScan()
  t.equal(completeEventsEnd(buf('data: a\r\n\r'), scan), 10)
  t.equal(scan.state, 'crEvent')
  t.equal(completeEventsEnd(buf('\ndata: b'), scan), 1, 'the LF is forwarded with the event it ends')
  t.equal(scan.state, 'inLine')
  // A line ended by CR at a chunk's end, LF next: one line end, no event end.
  t.same(ends(['data: a\r', '\n']), [0, 0])
  t.same(ends(['data: a\r', '\ndata: b\n\n']), [0, 10])
  t.same(ends(['data: a\r', '\r']), [0, 1], 'CR then CR is a blank line')
})

t.test('the stream\'s start is a line start: blank lines there are (empty) event ends', async t => {
  t.same(ends(['\n\ndata: a']), [2])
  t.same(ends(['\r\n']), [2])
})

// A byte-by-byte reading of the SSE rules, to check the indexOf version against on random cuts.
function reference (text: string): number[] {
  const boundaries: number[] = []
  let lineEmpty = true
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\n' || c === '\r') {
      // CRLF: the LF is part of the CR's terminator.
      const isCrLf = c === '\n' && i > 0 && text[i - 1] === '\r'
      if (isCrLf) {
        if (boundaries.at(-1) === i) boundaries[boundaries.length - 1] = i + 1
        continue
      }
      if (lineEmpty) boundaries.push(i + 1)
      lineEmpty = true
    } else {
      lineEmpty = false
    }
  }
  return boundaries
}

t.test('matches a byte-by-byte reading on random texts and random cuts', async t => {
  let seed = 42
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const alphabet = ['\n', '\r', 'a', 'd', ':', ' ']
  for (let round = 0; round < 500; round++) {
    const length = 1 + random(40)
    let text = ''
    for (let i = 0; i < length; i++) text += alphabet[random(alphabet.length)]
    const expected = reference(text).at(-1) ?? 0
    const scan = createSseScan()
    let offset = 0
    let last = 0
    while (offset < text.length) {
      const size = 1 + random(8)
      const part = text.slice(offset, offset + size)
      const end = completeEventsEnd(buf(part), scan)
      if (end > 0) last = offset + end
      offset += part.length
    }
    if (last !== expected) {
      t.fail(`text ${JSON.stringify(text)}: ${last}, expected ${expected}`)
      return
    }
  }
  t.pass('500 random texts, cut at random')
})
