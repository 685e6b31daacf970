// A test identity provider for the token exchange: ES256 key pairs, their JWKS, signed JWTs.
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

export interface SigningKey {
  privateKey: CryptoKey
  jwk: JWK
}

export async function signingKey (): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', kid: 'ES256-1' } }
}

export function jwks (...keys: SigningKey[]): { keys: Array<Record<string, unknown>> } {
  return { keys: keys.map(k => ({ ...k.jwk })) }
}

/** A JWT with these claims; `exp` defaults to ten minutes from now. */
export async function sign (key: SigningKey, claims: { sub: string, iss: string, aud: string, exp?: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'ES256-1' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key.privateKey)
}
