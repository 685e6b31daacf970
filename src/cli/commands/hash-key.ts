// `routegate hash-key [KEY]`: makes a caller key (or takes one) and prints its sha256 for the config.
import { randomBytes } from 'node:crypto'
import { sha256Hex } from '../../callers/keys.js'

/** A new caller key: 32 random bytes, URL-safe, with a prefix that secret scanners can match. */
export function newCallerKey (): string {
  return `rgk_${randomBytes(32).toString('base64url')}`
}

/** Shortest caller key hash-key accepts: a guessable key is a key anyone has. */
export const MIN_KEY_LENGTH = 32

export function runHashKey (opts: { key?: string | undefined }): number {
  if (opts.key !== undefined && opts.key.length < MIN_KEY_LENGTH) {
    process.stderr.write(`routegate: a caller key needs at least ${MIN_KEY_LENGTH} characters; run \`routegate hash-key\` without one to make a strong key\n`)
    return 64
  }
  const key = opts.key ?? newCallerKey()
  if (opts.key === undefined) process.stdout.write(`key:       ${key}\n`)
  process.stdout.write(`keySha256: ${sha256Hex(key)}\n`)
  if (opts.key === undefined) process.stdout.write('Give the key to the caller (it is shown only now); put keySha256 in the config.\n')
  return 0
}
