// Resolves ${env:NAME} and ${file:PATH} references in every string of a parsed config; refuses
// the shell's ${NAME}.
import { ConfigError } from '../errors.js'
import { readProblem } from '../io/read-file.js'
import { trimNewline } from './secret.js'

export interface InterpolateDeps {
  env: Record<string, string | undefined>
  readFile: (path: string) => string
}

const REF = /\$\{(env|file):([^}]+)\}/g
const WHOLE_FILE_REF = /^\$\{file:([^}]+)\}$/
/** Shell style, `${NAME}` or `${NAME:-default}`: taken literally it would be a wrong id or secret. */
const SHELL_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=?+][^}]*)?\}/

/**
 * Returns a copy of `value` with references replaced. A missing variable or unreadable file is a
 * ConfigError naming the field and the reference, never a value.
 */
export function interpolate (value: unknown, deps: InterpolateDeps, path = ''): unknown {
  if (typeof value === 'string') return resolveString(value, deps, path)
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, deps, `${path}[${i}]`))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key from YAML or JSON stays an own (and so
      // an unknown, refused) field instead of becoming the copy's prototype.
      Object.defineProperty(out, k, { value: interpolate(v, deps, path === '' ? k : `${path}.${k}`), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return value
}

function resolveString (raw: string, deps: InterpolateDeps, path: string): string {
  // Checked on the written text only: a value read from a variable or file is never interpolated.
  const shell = SHELL_REF.exec(raw.replace(REF, ''))
  if (shell !== null) {
    throw new ConfigError(`${path}: \${${shell[1] ?? ''}} is not a reference (only \${env:NAME} and \${file:PATH} are): use \${env:${shell[1] ?? ''}}`)
  }
  return raw.replace(REF, (_m, kind: string, ref: string) => {
    if (kind === 'env') {
      const v = deps.env[ref]
      if (v === undefined) throw new ConfigError(`${path}: environment variable ${ref} is not set`)
      return v
    }
    try {
      return trimNewline(deps.readFile(ref))
    } catch (err) {
      throw new ConfigError(`${path}: cannot read file ${ref} (${readProblem(err)})`)
    }
  })
}

/** The file a value is wholly read from (`${file:PATH}` and nothing else), if so. */
export function wholeFileRef (raw: unknown): string | undefined {
  return typeof raw === 'string' ? WHOLE_FILE_REF.exec(raw)?.[1] : undefined
}
