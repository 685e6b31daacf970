// Test identity provider: key pairs, a JWKS served on 127.0.0.1 (hits counted), token signing.
import { createServer } from 'node:http'
import type { Test } from 'tap'
import type { AddressInfo } from 'node:net'
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose'
import type { CallerConfig } from '../../../src/config/load.js'
import type { JwtAuthConfig } from '../../../src/callers/identity.js'

export const ISSUER = 'https://idp.test'
export const AUDIENCE = 'routegate'

export interface SigningKey {
  alg: 'RS256' | 'ES256'
  kid: string | undefined
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

export async function signingKey (alg: 'RS256' | 'ES256' = 'RS256', kid: string | undefined = `${alg}-1`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), alg, use: 'sig', ...(kid === undefined ? {} : { kid }) }
  return { alg, kid, privateKey, publicKey, jwk }
}

export function jwks (...keys: SigningKey[]): JSONWebKeySet {
  return { keys: keys.map(k => k.jwk) }
}

export interface TokenOptions {
  sub?: string | undefined
  iss?: string
  aud?: string
  /** Seconds since the epoch. */
  iat?: number
  exp?: number | null
  nbf?: number
  claims?: JWTPayload
  /** Sign with this key but announce another kid (header only). */
  kid?: string | undefined
}

export async function sign (key: SigningKey, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const kid = 'kid' in opts ? opts.kid : key.kid
  const jwt = new SignJWT({ ...opts.claims })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(kid === undefined ? {} : { kid }) })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt(opts.iat ?? now)
  if (opts.sub !== undefined) jwt.setSubject(opts.sub)
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? now + 600)
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf)
  return await jwt.sign(key.privateKey)
}

/** A JWKS server on 127.0.0.1:0 that counts its hits; `status` lets a test break it. */
export async function serveJwks (t: Test, body: () => JSONWebKeySet) {
  const state = { hits: 0, status: 200 }
  const server = createServer((_req, res) => {
    state.hits++
    res.writeHead(state.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body()))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, state }
}

export function jwtConfig (over: Partial<JwtAuthConfig> = {}): JwtAuthConfig {
  return { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256', 'ES256'], callerClaim: 'sub', clockToleranceSeconds: 30, maxTokenAgeSeconds: 86_400, ...over }
}

/** A normalised CallerConfig, as loadConfig makes it. */
export function callerConfig (c: Partial<CallerConfig> & { name: string }): CallerConfig {
  return {
    keySha256: [],
    mtlsSubjects: [],
    endpoints: ['*'],
    actions: ['query_inference_endpoint'],
    limits: undefined,
    ...c,
    // As config/load does: the name is a subject only for a caller with no other identity.
    jwtSubjects: c.jwtSubjects ?? ((c.keySha256?.length ?? 0) === 0 && (c.mtlsSubjects?.length ?? 0) === 0 ? [c.name] : [])
  }
}

/** Signs any payload bytes as a compact JWS: for tokens SignJWT refuses to make. */
export async function signRaw (key: SigningKey, payload: string): Promise<string> {
  return await new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: key.alg, ...(key.kid === undefined ? {} : { kid: key.kid }) })
    .sign(key.privateKey)
}
