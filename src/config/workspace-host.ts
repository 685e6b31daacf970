// A workspace host is a scheme and a host (and port) only: the API paths (/oidc/v1/token,
// /api/2.0/serving-endpoints) are appended to it, so a path, query or fragment copied from the
// browser's address bar (Azure's `https://adb-1.azuredatabricks.net/?o=123`) would build wrong URLs.
// Pure: shared by config load (`workspaces[].host`) and the CLI (`--host`).

export type HostCheck =
  | { ok: true, origin: string }
  /** `problem` never repeats credentials; `use` is the origin to write instead, when there is one. */
  | { ok: false, problem: string, use?: string }

/** Longest value echoed back in an error: a config value is hostile until checked. */
const ECHO = 200

/**
 * Checks `value` (with a scheme) and returns its origin, `https://host[:port]` with no trailing
 * slash. A lone trailing `/` is accepted (the origin is the same); any other path is not.
 */
export function checkWorkspaceHost (value: string): HostCheck {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return { ok: false, problem: `'${value.slice(0, ECHO)}' is not a URL` }
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, problem: `'${u.protocol}' is not https:// (or http:// for a local emulator)` }
  // Credentials in the URL are a secret: name the problem without echoing the value.
  if (u.username !== '' || u.password !== '') return { ok: false, problem: 'has credentials in it (the client secret goes in clientSecret)', use: u.origin }
  const extra = [
    u.pathname !== '/' && u.pathname !== '' ? 'a path' : undefined,
    u.search !== '' || value.includes('?') ? 'a query' : undefined,
    u.hash !== '' || value.includes('#') ? 'a fragment' : undefined
  ].filter(x => x !== undefined)
  if (extra.length > 0) return { ok: false, problem: `'${value.slice(0, ECHO)}' has ${extra.join(' and ')}: the workspace URL is a scheme and a host only`, use: u.origin }
  return { ok: true, origin: u.origin }
}

/** The check's failure as one line: `<field>: <problem>; use <origin>`. */
export function hostProblem (field: string, check: Extract<HostCheck, { ok: false }>): string {
  return `${field}: ${check.problem}${check.use === undefined ? '' : `; use ${check.use}`}`
}
