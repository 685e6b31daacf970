// Which grant mints which token: the token specs of a workspace (its unscoped control-plane token)
// and of its endpoints (one scoped token per endpoint id and action). Grant policy lives here, so
// the registry only says which endpoint needs which scope.
import { createHash } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Action, WorkspaceConfig } from '../config/load.js'
import { TokenEndpointError } from '../errors.js'
import type { TokenBroker, TokenSpec } from './broker.js'
import { clientCredentialsGrant, federationGrant, tokenExchangeGrant, type GrantOptions } from './grants.js'

export interface SpecDeps {
  broker: Pick<TokenBroker, 'get' | 'invalidate' | 'accepted'>
  /** Dispatcher for token-endpoint calls (kept apart from the data-plane pools). */
  dispatcher: Dispatcher
  fetchTimeoutMs: number
  /** Wall clock (Retry-After dates). */
  now: () => number
}

export interface WorkspaceTokens {
  /** The workspace's unscoped all-apis token: for the control plane and as an exchange's assertion. */
  workspace: TokenSpec
  /** The scoped token of one endpoint id and action, labelled with the endpoint's configured name. */
  endpoint: (endpointName: string, endpointId: string, action: Action, authorizationDetails: string) => TokenSpec
}

export function workspaceTokens (ws: WorkspaceConfig, deps: SpecDeps): WorkspaceTokens {
  const opts = (signal: AbortSignal): GrantOptions => ({ dispatcher: deps.dispatcher, timeoutMs: deps.fetchTimeoutMs, now: deps.now, signal })
  const credentials = (): { tokenUrl: string, clientId: string, clientSecret: NonNullable<WorkspaceConfig['clientSecret']> } => {
    // Config validation guarantees both for these grants.
    return { tokenUrl: ws.tokenUrl, clientId: ws.clientId as string, clientSecret: ws.clientSecret as NonNullable<WorkspaceConfig['clientSecret']> }
  }
  // Keys carry the workspace's identity: after a reload that points a workspace at another
  // host or principal, its old tokens are never served for it (a rotated secret keeps them).
  const identity = createHash('sha256').update([ws.host, ws.tokenUrl, ws.clientId ?? '', ws.grant, ws.subjectTokenFile ?? ''].join('\n')).digest('hex').slice(0, 12)
  const workspace: TokenSpec = {
    key: `${ws.name}\u0000${identity}\u0000workspace`,
    workspace: ws.name,
    mint: ws.grant === 'federation'
      ? async (signal) => await federationGrant(ws.tokenUrl, ws.subjectTokenFile as string, ws.clientId, opts(signal))
      : async (signal) => await clientCredentialsGrant(credentials(), undefined, opts(signal))
  }
  return {
    workspace,
    endpoint (endpointName, endpointId, action, authorizationDetails) {
      const key = `${ws.name}\u0000${identity}\u0000${endpointId}\u0000${action}`
      if (ws.grant === 'client_credentials') {
        return { key, workspace: ws.name, endpoint: endpointName, authorizationDetails, mint: async (signal) => await clientCredentialsGrant(credentials(), authorizationDetails, opts(signal)) }
      }
      // token_exchange and federation: the workspace token is the jwt-bearer assertion.
      return {
        key,
        workspace: ws.name,
        endpoint: endpointName,
        authorizationDetails,
        mint: async (signal) => {
          const assertion = await deps.broker.get(workspace)
          try {
            const minted = await tokenExchangeGrant(ws.tokenUrl, assertion, authorizationDetails, opts(signal))
            deps.broker.accepted(workspace, assertion)
            return minted
          } catch (err) {
            if (!(err instanceof TokenEndpointError) || err.reason !== 'invalid_grant') throw err
            // The assertion was refused: a fresh workspace token fixes that within a second,
            // so this endpoint key must not back off as if its credentials were bad.
            deps.broker.invalidate(workspace, assertion)
            throw new TokenEndpointError(`${err.message} (the workspace token was refused; a new one is minted)`, { reason: 'temporarily_unavailable', status: err.status, cause: err })
          }
        }
      }
    }
  }
}
