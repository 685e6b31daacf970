// Hostile JWTs for the security suite: unsigned, expired, mis-addressed, forged, confused.
import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose'
import { AUDIENCE, ISSUER, sign, signingKey, type SigningKey } from '../../callers/helpers/idp.js'

export interface BadTokens {
  /** `alg: none`, no signature, otherwise perfect claims. */
  none: string
  expired: string
  wrongAudience: string
  wrongIssuer: string
  /** No `exp`: would be valid forever. */
  noExp: string
  /** `nbf` an hour ahead. */
  notYetValid: string
  /** Signed by a key the IdP never published, announcing an unknown kid. */
  unknownKey: string
  /** Signed by another key under the IdP's own kid. */
  forgedSameKid: string
  /** HS256 with the IdP's public key (PEM) as the HMAC secret: the key-confusion attack. */
  hmacWithPublicKey: string
  /** A valid token whose payload was swapped for another subject's. */
  tamperedPayload: string
  /** Valid in every way, but its subject names no caller. */
  stranger: string
}

/** Every token claims `sub` (a configured caller) unless the point is another subject. */
export async function badTokens (idp: SigningKey, sub: string): Promise<BadTokens> {
  const now = Math.floor(Date.now() / 1000)
  const other = await signingKey('RS256', 'not-published')
  const impostor = await signingKey('RS256', idp.kid)
  const valid = await sign(idp, { sub: 'someone-else' })
  const [h, , sig] = valid.split('.')
  const swapped = Buffer.from(JSON.stringify({ sub, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 })).toString('base64url')
  return {
    none: new UnsecuredJWT({ sub }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600).encode(),
    expired: await sign(idp, { sub, iat: now - 7200, exp: now - 3600 }),
    wrongAudience: await sign(idp, { sub, aud: 'another-service' }),
    wrongIssuer: await sign(idp, { sub, iss: 'https://evil.example' }),
    noExp: await sign(idp, { sub, exp: null }),
    notYetValid: await sign(idp, { sub, nbf: now + 3600 }),
    unknownKey: await sign(other, { sub }),
    forgedSameKid: await sign(impostor, { sub }),
    hmacWithPublicKey: await new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(idp.kid === undefined ? {} : { kid: idp.kid }) })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(await exportSPKI(idp.publicKey))),
    tamperedPayload: `${h}.${swapped}.${sig}`,
    stranger: await sign(idp, { sub: 'nobody-we-know' })
  }
}
