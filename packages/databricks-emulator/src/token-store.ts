// Issues and remembers the emulator's access tokens: who holds them, their scope, expiry and revocation.
import { randomBytes } from 'node:crypto'
import type { AuthorizationDetail } from './authorization-details.js'
import type { EmulatorPrincipal } from './types.js'
import { signJwt } from './jwt.js'
import { randomHex } from './random.js'

export const GRANTS = {
  clientCredentials: 'client_credentials',
  jwtBearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange'
} as const
export type Grant = typeof GRANTS[keyof typeof GRANTS]

export interface TokenRecord {
  token: string
  principal: EmulatorPrincipal
  /** Undefined for an unscoped (control-plane, `all-apis`) token. */
  authorizationDetails: AuthorizationDetail[] | undefined
  grant: Grant
  issuedAt: number
  expiresAt: number
  revoked: boolean
}

export interface MintRequest {
  principal: EmulatorPrincipal
  authorizationDetails: AuthorizationDetail[] | undefined
  grant: Grant
  ttlSeconds: number
  issuer: string
  workspaceId: string
}

// Expired tokens are swept every this many mints, so the map stays bounded by mint rate × TTL.
const PRUNE_EVERY = 256

export class TokenStore {
  #tokens = new Map<string, TokenRecord>()
  #key = randomBytes(32)
  #kid = randomHex(8)
  #now: () => number
  #mintsSincePrune = 0

  constructor (opts: { now: () => number }) {
    this.#now = opts.now
  }

  mint (req: MintRequest): TokenRecord {
    if (++this.#mintsSincePrune >= PRUNE_EVERY) this.prune()
    const issuedAt = this.#now()
    const expiresAt = issuedAt + req.ttlSeconds * 1000
    const payload: Record<string, unknown> = {
      iss: req.issuer,
      aud: req.workspaceId,
      sub: req.principal.clientId,
      client_id: req.principal.clientId,
      scope: 'all-apis',
      iat: Math.floor(issuedAt / 1000),
      exp: Math.floor(expiresAt / 1000),
      jti: randomHex(16)
    }
    if (req.authorizationDetails !== undefined) payload.authorization_details = req.authorizationDetails
    const token = signJwt({ kid: this.#kid, typ: 'at+jwt', alg: 'HS256' }, payload, this.#key)
    const record: TokenRecord = {
      token,
      principal: req.principal,
      authorizationDetails: req.authorizationDetails,
      grant: req.grant,
      issuedAt,
      expiresAt,
      revoked: false
    }
    this.#tokens.set(token, record)
    return record
  }

  get (token: string): TokenRecord | undefined {
    return this.#tokens.get(token)
  }

  /** Marks every matching token revoked; returns how many were newly revoked. */
  revoke (match: (record: TokenRecord) => boolean): number {
    let n = 0
    for (const record of this.#tokens.values()) {
      if (!record.revoked && match(record)) {
        record.revoked = true
        n++
      }
    }
    return n
  }

  prune (): void {
    this.#mintsSincePrune = 0
    const now = this.#now()
    for (const [token, record] of this.#tokens) {
      if (record.expiresAt <= now) this.#tokens.delete(token)
    }
  }

  get size (): number {
    return this.#tokens.size
  }
}
