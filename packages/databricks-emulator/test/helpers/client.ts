// Test helpers: a started emulator with teardown, and small fetch wrappers for its APIs.
import type { Test } from 'tap'
import type { EmulatorAction, EmulatorPrincipal, RunningEmulator, StartEmulatorOptions } from '../../src/index.js'
import { startEmulator } from '../../src/index.js'

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export async function start (t: Test, opts: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const emu = await startEmulator(opts)
  t.teardown(() => emu.close())
  return emu
}

export interface Answer {
  status: number
  headers: Headers
  body: any
  text: string
}

async function answer (res: Response): Promise<Answer> {
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, body, text }
}

export function basic (clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`
}

export function principal (emu: RunningEmulator, i = 0): EmulatorPrincipal {
  const p = emu.principals[i]
  if (p === undefined) throw new Error(`no principal ${i}`)
  return p
}

export function details (endpointId: string, actions: EmulatorAction[] = ['query_inference_endpoint']): string {
  return JSON.stringify([{ type: 'workspace_permission', object_type: 'serving-endpoints', object_path: `/serving-endpoints/${endpointId}`, actions }])
}

export async function tokenRequest (emu: RunningEmulator, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(await fetch(`${emu.url}/oidc/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString()
  }))
}

/** An unscoped control-plane token for principal `i`. */
export async function controlPlaneToken (emu: RunningEmulator, i = 0): Promise<string> {
  const p = principal(emu, i)
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis' }, { authorization: basic(p.clientId, p.clientSecret) })
  if (res.status !== 200) throw new Error(`mint failed: ${res.text}`)
  return res.body.access_token
}

/** A data-plane token scoped to `endpoint`, minted with client_credentials + authorization_details. */
export async function dataPlaneToken (emu: RunningEmulator, endpoint: string, i = 0, actions?: EmulatorAction[]): Promise<string> {
  const p = principal(emu, i)
  const id = emu.endpoints[endpoint]?.id ?? endpoint
  const res = await tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis', authorization_details: details(id, actions) },
    { authorization: basic(p.clientId, p.clientSecret) })
  if (res.status !== 200) throw new Error(`mint failed: ${res.text}`)
  return res.body.access_token
}

export async function invoke (
  emu: RunningEmulator,
  endpoint: string,
  body: unknown,
  token: string | undefined,
  headers: Record<string, string> = {}
): Promise<Answer> {
  return answer(await fetch(emu.endpointUrl(endpoint), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers
    },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  }))
}

export async function get (emu: RunningEmulator, path: string, token?: string): Promise<Answer> {
  return answer(await fetch(`${emu.url}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }))
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** A settable clock for tests that move time instead of sleeping. */
export function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: ms => { t += ms } }
}
