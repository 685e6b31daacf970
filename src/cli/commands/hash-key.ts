// `routegate hash-key [KEY]`: makes a caller key (or takes one) and prints its sha256 for the config.
import { randomBytes } from 'node:crypto'
import { sha256Hex } from '../../callers/keys.js'

/** A new caller key: 32 random bytes, URL-safe, with a prefix that secret scanners can match. */
export function newCallerKey (): string {
  return `rgk_${randomBytes(32).toString('base64url')}`
}

export function runHashKey (opts: { key?: string | undefined }): number {
  const key = opts.key ?? newCallerKey()
  if (opts.key === undefined) process.stdout.write(`key:       ${key}\n`)
  process.stdout.write(`keySha256: ${sha256Hex(key)}\n`)
  if (opts.key === undefined) process.stdout.write('Give the key to the caller (it is shown only now); put keySha256 in the config.\n')
  return 0
}
