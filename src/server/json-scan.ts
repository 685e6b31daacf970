// Reads a JSON body in one linear pass, chunk by chunk as it arrives, without building it: checks
// that it is one JSON value, finds the top-level member named `name` (an OpenAI request's
// `model`), and records the byte runs that forward the caller's bytes without that member.
// Container depth is a counter over a typed-array stack (no recursion, no object per container),
// so every shape (deep nesting, millions of tiny containers, long strings or numbers) costs the
// same few nanoseconds a byte, and memory grows only with the depth and the number of runs.
// docs/http.md "OpenAI-compatible routes" is the contract this serves.

/** What the body is: one JSON object, some other JSON value, or not JSON at all. */
export type Verdict = 'object' | 'not-object' | 'invalid'

/** The value of the last top-level `name` member (JSON.parse keeps the last of duplicates). */
export type MemberValue =
  | { kind: 'missing' }
  | { kind: 'string', text: string }
  /** A string longer than `maxValueBytes` as sent: not decoded. */
  | { kind: 'long-string' }
  | { kind: 'other' }

export interface ScanResult {
  verdict: Verdict
  member: MemberValue
  /** How many top-level `name` members there were (all are cut). */
  removed: number
  /** Body length in bytes. */
  length: number
  /** The forwarded body is `[0, prefixEnd)`, the kept runs joined by `,`, then `[suffixStart, length)`. */
  prefixEnd: number
  suffixStart: number
  /** Kept member runs as `[start, end)` pairs of byte offsets. */
  runs: Uint32Array
}

export interface ScannerOptions {
  /** The member to find and cut (printable ASCII, as every endpoint name is). */
  name: string
  /** Longest string value of `name`, in bytes as sent, that is decoded. Default 512. */
  maxValueBytes?: number
}

// Parser states. Numbers follow RFC 8259 §6 digit by digit; N_ZERO, N_INT, N_FRAC and N_EXP
// are the ones a number may end in.
const S_VALUE = 0
const S_VALUE_OR_END_ARRAY = 1
const S_KEY_OR_END_OBJECT = 2
const S_KEY = 3
const S_COLON = 4
const S_AFTER_VALUE = 5
const S_STRING = 6
const S_ESCAPE = 7
const S_UNICODE = 8
const S_LITERAL = 9
const S_DONE = 10
const S_INVALID = 11
const N_MINUS = 12
const N_ZERO = 13
const N_INT = 14
const N_DOT = 15
const N_FRAC = 16
const N_E = 17
const N_ESIGN = 18
const N_EXP = 19

// What a string being read is, and whether its bytes are kept.
const STR_VALUE = 0
const STR_KEY = 1
const STR_TOP_KEY = 2
const STR_MEMBER_VALUE = 3

const QUOTE = 0x22
const BACKSLASH = 0x5c
const MAX_OFFSET = 0xffffffff
const ONE = new Uint8Array(1)

const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')] as const

/** What a byte after a backslash stands for (0: not a valid escape; 1: `\u`, four hex digits follow). */
const ESCAPES = new Uint16Array(128)
for (const [ch, code] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  ESCAPES[ch.charCodeAt(0)] = code
}
ESCAPES[0x75] = 1

function isWs (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}
function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}
function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/**
 * A scanner for one body: `write()` each chunk in order, then `end()`. After the first byte that
 * makes the body invalid, further chunks are only counted.
 */
export class ObjectScanner {
  readonly #name: string
  readonly #maxKeyBytes: number
  readonly #maxValueBytes: number

  #offset = 0
  #state = S_VALUE
  /** Open containers: 1 for an object, 0 for an array. */
  #stack = new Uint8Array(64)
  #depth = 0
  #top: Verdict = 'invalid'
  #strRole = STR_VALUE
  #hexLeft = 0
  #literal: Buffer = LITERALS[0]
  #literalAt = 0

  // The top-level member being read.
  #memberStart = 0
  #memberIsName = false
  // Bytes of a top-level key, or of the `name` member's string value, as sent (quotes included).
  #cap: Uint8Array
  #capLen = 0
  #capOver = false

  // The last `name` member's value.
  #valueKind: 'missing' | 'string' | 'other' = 'missing'
  #valueBytes: Uint8Array
  #valueLen = 0
  #valueOver = false
  #removed = 0

  #prefixEnd = 0
  #suffixStart = 0
  #runs = new Uint32Array(16)
  #runCount = 0
  #runStart = -1
  #runEnd = -1

  constructor (options: ScannerOptions) {
    if (!/^[\x20-\x7e]+$/.test(options.name)) throw new TypeError('name must be printable ASCII')
    this.#name = options.name
    // Every character of the name written as a \uXXXX escape, plus the quotes.
    this.#maxKeyBytes = options.name.length * 6 + 2
    this.#maxValueBytes = (options.maxValueBytes ?? 512) + 2
    this.#cap = new Uint8Array(this.#maxKeyBytes)
    this.#valueBytes = new Uint8Array(this.#maxValueBytes)
  }

  /** Scans the next chunk of the body. */
  write (chunk: Uint8Array): void {
    const base = this.#offset
    const n = chunk.length
    if (base + n > MAX_OFFSET) throw new RangeError('the scanner takes bodies under 4 GiB')
    this.#offset = base + n
    let state = this.#state
    if (state === S_INVALID) return
    // The hot state lives in locals for the loop (containers open and close inline); the
    // methods, called once per top-level member or scalar, get the depth as an argument.
    let depth = this.#depth
    let stack = this.#stack
    let i = 0
    while (i < n) {
      const c = chunk[i] as number
      switch (state) {
        case S_STRING: {
          // The common case, kept tight: a run of plain string bytes.
          let j = i
          let d = c
          while (d !== QUOTE && d !== BACKSLASH && d >= 0x20) {
            if (++j === n) break
            d = chunk[j] as number
          }
          if (this.#strRole >= STR_TOP_KEY) this.#capture(chunk, i, j === n ? n : j + 1)
          if (j === n) { i = n; continue }
          i = j + 1
          if (d === QUOTE) state = this.#stringDone(base + i, depth)
          else if (d === BACKSLASH) state = S_ESCAPE
          else state = S_INVALID // a raw control character (RFC 8259 §7)
          continue
        }
        case S_ESCAPE: {
          const e = c < 128 ? ESCAPES[c] as number : 0
          if (e === 0) { state = S_INVALID; continue }
          if (this.#strRole >= STR_TOP_KEY) this.#capture(chunk, i, i + 1)
          if (e === 1) { state = S_UNICODE; this.#hexLeft = 4 } else state = S_STRING
          i++
          continue
        }
        case S_UNICODE:
          if (hexValue(c) < 0) { state = S_INVALID; continue }
          if (this.#strRole >= STR_TOP_KEY) this.#capture(chunk, i, i + 1)
          if (--this.#hexLeft === 0) state = S_STRING
          i++
          continue
        case S_AFTER_VALUE:
          i++
          if (c === 0x2c) { // ,
            state = stack[depth - 1] === 1 ? S_KEY : S_VALUE
          } else if (c === 0x7d || c === 0x5d) { // } ]
            if (stack[depth - 1] !== (c === 0x7d ? 1 : 0)) { state = S_INVALID; continue }
            depth--
            state = depth > 1 ? S_AFTER_VALUE : this.#closed(base + i - 1, depth)
          } else if (!isWs(c)) {
            state = S_INVALID
          }
          continue
        case S_VALUE:
        case S_VALUE_OR_END_ARRAY:
          if (c === 0x5b || c === 0x7b) { // [ {
            if (depth === 0) {
              this.#top = c === 0x7b ? 'object' : 'not-object'
              this.#prefixEnd = base + i + 1
            } else if (depth === 1 && this.#memberIsName) {
              this.#valueKind = 'other'
            }
            if (depth === stack.length) {
              const grown = new Uint8Array(stack.length * 2)
              grown.set(stack)
              this.#stack = stack = grown
            }
            stack[depth++] = c === 0x7b ? 1 : 0
            state = c === 0x7b ? S_KEY_OR_END_OBJECT : S_VALUE_OR_END_ARRAY
          } else if (c === 0x5d && state === S_VALUE_OR_END_ARRAY) { // an empty array
            depth--
            state = depth > 1 ? S_AFTER_VALUE : this.#closed(base + i, depth)
          } else if (!isWs(c)) {
            state = this.#startScalar(c, depth)
          }
          i++
          continue
        case S_KEY_OR_END_OBJECT:
        case S_KEY:
          i++
          if (c === QUOTE) {
            if (depth === 1) {
              this.#strRole = STR_TOP_KEY
              this.#memberStart = base + i - 1
              this.#capLen = 0
              this.#capOver = false
              this.#capture(chunk, i - 1, i)
            } else {
              this.#strRole = STR_KEY
            }
            state = S_STRING
          } else if (c === 0x7d && state === S_KEY_OR_END_OBJECT) { // an empty object
            depth--
            state = depth > 1 ? S_AFTER_VALUE : this.#closed(base + i - 1, depth)
          } else if (!isWs(c)) {
            state = S_INVALID
          }
          continue
        case S_COLON:
          i++
          if (!isWs(c)) state = c === 0x3a ? S_VALUE : S_INVALID
          continue
        case S_LITERAL:
          if (c !== this.#literal[this.#literalAt]) { state = S_INVALID; continue }
          i++
          if (++this.#literalAt === this.#literal.length) state = this.#valueDone(base + i, depth)
          continue
        case S_DONE:
          if (!isWs(c)) { state = S_INVALID; continue }
          i++
          continue
        case S_INVALID:
          // Nothing after the first invalid byte matters: the rest is only counted.
          this.#state = S_INVALID
          return
        default: {
          // Inside a number: digits in a tight loop, then the byte that ends or continues it.
          if (isDigit(c)) {
            if (state === N_ZERO) { state = S_INVALID; continue } // no leading zeros
            let j = i + 1
            while (j < n && isDigit(chunk[j] as number)) j++
            const run = j - i
            i = j
            if (state === N_MINUS) state = c !== 0x30 ? N_INT : run === 1 ? N_ZERO : S_INVALID
            else if (state === N_DOT) state = N_FRAC
            else if (state === N_E || state === N_ESIGN) state = N_EXP
            continue
          }
          if (c === 0x2e && (state === N_ZERO || state === N_INT)) { state = N_DOT; i++; continue }
          if ((c === 0x65 || c === 0x45) && (state === N_ZERO || state === N_INT || state === N_FRAC)) { state = N_E; i++; continue }
          if ((c === 0x2b || c === 0x2d) && state === N_E) { state = N_ESIGN; i++; continue }
          if (state === N_ZERO || state === N_INT || state === N_FRAC || state === N_EXP) {
            // The number ended just before this byte, which is read again in the next state.
            state = this.#valueDone(base + i, depth)
            continue
          }
          state = S_INVALID
          continue
        }
      }
    }
    this.#state = state
    this.#depth = depth
  }

  /** The verdict and what to forward, once the whole body was written. */
  end (): ScanResult {
    let state = this.#state
    if (this.#depth === 0 && (state === N_ZERO || state === N_INT || state === N_FRAC || state === N_EXP)) {
      state = this.#valueDone(this.#offset, 0)
    }
    this.#state = state
    const verdict: Verdict = state === S_DONE ? this.#top : 'invalid'
    if (this.#runStart >= 0) {
      this.#pushRun(this.#runStart, this.#runEnd)
      this.#runStart = -1
    }
    let member: MemberValue = { kind: 'missing' }
    if (verdict !== 'object') {
      // Nothing about the member of a body that is not a JSON object (its string may be cut short).
    } else if (this.#valueKind === 'other') {
      member = { kind: 'other' }
    } else if (this.#valueKind === 'string') {
      member = this.#valueOver
        ? { kind: 'long-string' }
        // Bounded (maxValueBytes) and already checked to be a valid JSON string.
        : { kind: 'string', text: JSON.parse(Buffer.from(this.#valueBytes.buffer, this.#valueBytes.byteOffset, this.#valueLen).toString('utf8')) as string }
    }
    return {
      verdict,
      member,
      removed: verdict === 'object' ? this.#removed : 0,
      length: this.#offset,
      prefixEnd: this.#prefixEnd,
      suffixStart: this.#suffixStart,
      runs: this.#runs.subarray(0, this.#runCount * 2)
    }
  }

  /** The first byte of a string, number or literal at `depth`; returns the next state. */
  #startScalar (c: number, depth: number): number {
    const member = depth === 1 && this.#memberIsName
    if (depth === 0) this.#top = 'not-object'
    if (c === QUOTE) {
      if (member) {
        this.#valueKind = 'string'
        this.#strRole = STR_MEMBER_VALUE
        this.#valueLen = 0
        this.#valueOver = false
        this.#capture1(QUOTE)
      } else {
        this.#strRole = STR_VALUE
      }
      return S_STRING
    }
    if (member) this.#valueKind = 'other'
    if (c === 0x2d) return N_MINUS
    if (c === 0x30) return N_ZERO
    if (c > 0x30 && c <= 0x39) return N_INT
    const literal = c === 0x74 ? LITERALS[0] : c === 0x66 ? LITERALS[1] : c === 0x6e ? LITERALS[2] : undefined
    if (literal === undefined) return S_INVALID
    this.#literal = literal
    this.#literalAt = 1
    return S_LITERAL
  }

  /** A container closed at `at`, leaving `depth` (0 or 1) open; returns the next state. */
  #closed (at: number, depth: number): number {
    if (depth === 0) this.#suffixStart = at
    return this.#valueDone(at + 1, depth)
  }

  /** A string ended (its closing quote ends at `end`); returns the next state. */
  #stringDone (end: number, depth: number): number {
    const role = this.#strRole
    if (role === STR_KEY) return S_COLON
    if (role === STR_TOP_KEY) {
      this.#memberIsName = !this.#capOver && this.#keyIsName()
      return S_COLON
    }
    return this.#valueDone(end, depth)
  }

  /** A value ended just before `end`, inside `depth` open containers; returns the next state. */
  #valueDone (end: number, depth: number): number {
    if (depth === 0) return S_DONE
    if (depth === 1 && this.#stack[0] === 1) this.#memberDone(end)
    return S_AFTER_VALUE
  }

  /** A top-level member `[memberStart, end)` is complete: cut it, or add it to the kept runs. */
  #memberDone (end: number): void {
    if (this.#memberIsName) {
      this.#removed++
      this.#memberIsName = false
      return
    }
    // Members separated by a bare `,` stay one run: only whitespace or a cut member starts another.
    if (this.#runStart >= 0 && this.#memberStart === this.#runEnd + 1) {
      this.#runEnd = end
      return
    }
    if (this.#runStart >= 0) this.#pushRun(this.#runStart, this.#runEnd)
    this.#runStart = this.#memberStart
    this.#runEnd = end
  }

  #pushRun (start: number, end: number): void {
    if (this.#runCount * 2 === this.#runs.length) {
      const grown = new Uint32Array(this.#runs.length * 2)
      grown.set(this.#runs)
      this.#runs = grown
    }
    this.#runs[this.#runCount * 2] = start
    this.#runs[this.#runCount * 2 + 1] = end
    this.#runCount++
  }

  /** Keeps `chunk[from, to)` of a top-level key or of the member's string value, up to its bound. */
  #capture (chunk: Uint8Array, from: number, to: number): void {
    const value = this.#strRole === STR_MEMBER_VALUE
    const into = value ? this.#valueBytes : this.#cap
    let len = value ? this.#valueLen : this.#capLen
    const room = Math.min(to, from + into.length - len)
    for (let k = from; k < room; k++) into[len++] = chunk[k] as number
    const over = room < to
    if (value) {
      this.#valueLen = len
      if (over) this.#valueOver = true
    } else {
      this.#capLen = len
      if (over) this.#capOver = true
    }
  }

  #capture1 (c: number): void {
    this.#capture(ONE.fill(c), 0, 1)
  }

  /** Whether the captured key (a valid JSON string, quotes included) decodes to the name. No allocation. */
  #keyIsName (): boolean {
    const cap = this.#cap
    const name = this.#name
    let at = 0
    for (let k = 1; k < this.#capLen - 1; k++) {
      let unit = cap[k] as number
      if (unit === BACKSLASH) {
        const e = ESCAPES[cap[++k] as number] as number
        if (e === 1) {
          unit = 0
          for (let h = 0; h < 4; h++) unit = unit * 16 + hexValue(cap[++k] as number)
        } else {
          unit = e
        }
      } else if (unit >= 0x80) {
        return false // a raw non-ASCII byte never decodes to the (ASCII) name
      }
      if (at === name.length || name.charCodeAt(at++) !== unit) return false
    }
    return at === name.length
  }
}

/**
 * The bytes to forward: `body` less the top-level members the scan cut, kept members joined by
 * `,` (whitespace between members is dropped), everything else byte for byte. `body` itself when
 * nothing was cut. Small runs are copied byte by byte: a call per run would cost more than the
 * bytes when a body has hundreds of thousands of them.
 */
export function assemble (body: Buffer, scan: ScanResult): Buffer {
  if (scan.removed === 0) return body
  const { runs, prefixEnd, suffixStart } = scan
  let size = prefixEnd + (body.length - suffixStart)
  for (let k = 0; k < runs.length; k += 2) size += (runs[k + 1] as number) - (runs[k] as number) + (k === 0 ? 0 : 1)
  const out = Buffer.allocUnsafe(size)
  let o = body.copy(out, 0, 0, prefixEnd)
  for (let k = 0; k < runs.length; k += 2) {
    if (k > 0) out[o++] = 0x2c
    const start = runs[k] as number
    const end = runs[k + 1] as number
    if (end - start > 64) {
      o += body.copy(out, o, start, end)
    } else {
      for (let b = start; b < end; b++) out[o++] = body[b] as number
    }
  }
  body.copy(out, o, suffixStart)
  return out
}

/**
 * Whether `raw[start, end)` holds a backslash (a JSON string with an escape). For the short
 * ranges of member names: no Buffer view is made, and nothing outside the range is looked at.
 */
export function hasEscape (raw: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (raw[i] === 0x5c) return true
  return false
}
