// A secret value that cannot leak by accident: it prints, logs and serialises as a mask.
import { readFileBoundedSync } from '../io/read-file.js'
import { inspect } from 'node:util'

export const MASK = '********'
/** A client secret file larger than this is not a client secret. */
const MAX_SECRET_FILE_BYTES = 64 * 1024

type ReadFile = (path: string) => string

/**
 * Holds a credential. `reveal()` is the only way to read it. A secret that came from a whole
 * `${file:PATH}` reference is re-read on every `reveal()`, so a rotated file is picked up at the
 * next token fetch without a restart; if the file is briefly unreadable the last value is kept.
 */
export class Secret {
  #value: string
  readonly #file: string | undefined
  readonly #readFile: ReadFile

  constructor (value: string, opts: { file?: string, readFile?: ReadFile } = {}) {
    this.#value = value
    this.#file = opts.file
    // Re-read at token fetches: never a blocking open (a FIFO) nor an unbounded read.
    this.#readFile = opts.readFile ?? ((p) => readFileBoundedSync(p, MAX_SECRET_FILE_BYTES).toString('utf8'))
  }

  /** Where the value is re-read from, if anywhere (a path is not a secret). */
  get file (): string | undefined { return this.#file }

  reveal (): string {
    if (this.#file !== undefined) {
      try {
        const fresh = trimNewline(this.#readFile(this.#file))
        if (fresh.length > 0) this.#value = fresh
      } catch {
        // Keep the last good value: a rotation in progress must not break token fetches.
      }
    }
    return this.#value
  }

  toString (): string { return MASK }
  toJSON (): string { return MASK }
  [inspect.custom] (): string { return MASK }
}

export function trimNewline (s: string): string {
  return s.replace(/\r?\n$/, '')
}
