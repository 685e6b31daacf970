// POST /oidc/v1/token: client_credentials and jwt-bearer grants, with OAuth-shaped errors only (README, Token endpoint).
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { EmulatorContext } from '../context.js'
import type { AuthorizationDetail } from '../authorization-details.js'
import type { Grant } from '../token-store.js'
import type { EmulatorPrincipal, FederationPolicy } from '../types.js'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { baseUrl } from '../context.js'
import { parseAuthorizationDetails } from '../authorization-details.js'
import { readClientCredentials } from '../client-auth.js'
import { OAUTH_ERRORS, oauthErrorFor, oauthStatusFor, sendOAuthError, statusOf } from '../errors.js'
import { GRANTS } from '../token-store.js'

export function tokenRoutes (ctx: EmulatorContext) {
  return async function routegateEmulatorToken (app: FastifyInstance): Promise<void> {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, new URLSearchParams(body as string))
    })
    // Any other media type reaches the handler without a form and gets invalid_request, not fastify's 415.
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, _body, done) => { done(null, undefined) })
    app.setErrorHandler((err: { statusCode?: number, message: string }, _request, reply) => {
      const status = statusOf(err)
      return sendOAuthError(reply, status, oauthErrorFor(status), err.message)
    })

    app.post('/oidc/v1/token', {
      onRequest: async (request, reply) => {
        ctx.stats.tokenRequest()
        const fault = ctx.faults.takeToken()
        if (fault === undefined) return
        if (fault.down === true) {
          reply.hijack()
          request.raw.socket.destroy()
          return
        }
        if (fault.latencyMs !== undefined && !(await ctx.lifecycle.sleep(fault.latencyMs))) {
          reply.hijack()
          request.raw.socket.destroy()
          return
        }
        if (fault.status === undefined && fault.error === undefined) return
        const error = fault.error ?? oauthErrorFor(fault.status as number)
        const status = fault.status ?? oauthStatusFor(error)
        if (fault.retryAfter !== undefined) reply.header('retry-after', fault.retryAfter)
        return sendOAuthError(reply, status, error, 'Injected fault')
      }
    }, async (request, reply) => handleToken(ctx, request, reply))

    app.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url: '/oidc/v1/token',
      handler: async (_request, reply) => sendOAuthError(reply.header('allow', 'POST'), 405, OAUTH_ERRORS.invalidRequest, 'The token endpoint accepts POST only')
    })
  }
}

async function handleToken (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const form = request.body
  if (!(form instanceof URLSearchParams)) {
    return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, 'Content-Type must be application/x-www-form-urlencoded')
  }
  // RFC 6749 §3.2: parameters must not be repeated.
  const repeated = [...new Set(form.keys())].find(k => form.getAll(k).length > 1)
  if (repeated !== undefined) return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, `Parameter ${repeated} is repeated`)

  const grantType = form.get('grant_type')
  if (grantType === null || grantType === '') return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, 'Missing grant_type')
  if (grantType === GRANTS.clientCredentials) return clientCredentials(ctx, request, reply, form)
  if (grantType === GRANTS.jwtBearer) return jwtBearer(ctx, request, reply, form)
  if (grantType === GRANTS.tokenExchange) return await tokenExchange(ctx, request, reply, form)
  return sendOAuthError(reply, 400, OAUTH_ERRORS.unsupportedGrantType, `Unsupported grant_type ${grantType}`)
}

function clientCredentials (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply, form: URLSearchParams): FastifyReply {
  const credentials = readClientCredentials(request.headers.authorization, form)
  const principal = credentials === undefined ? undefined : ctx.principals.find(p => p.clientId === credentials.clientId)
  if (credentials === undefined || principal === undefined || !sameSecret(principal.clientSecret, credentials.clientSecret)) {
    return sendOAuthError(reply, 401, OAUTH_ERRORS.invalidClient, 'Client authentication failed')
  }
  const scopes = (form.get('scope') ?? '').split(' ')
  if (!scopes.includes('all-apis')) return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidScope, 'scope must include all-apis')
  return mint(ctx, request, reply, form, principal, GRANTS.clientCredentials, ctx.tokenTtlSeconds)
}

// No client authentication: the assertion is the credential. The legacy go SDK still attaches
// `Authorization: Bearer <cp token>` (README, Token endpoint), so any Authorization header is ignored.
function jwtBearer (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply, form: URLSearchParams): FastifyReply {
  const assertion = form.get('assertion')
  if (assertion === null || assertion === '') return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, 'Missing assertion')
  const record = ctx.tokens.get(assertion)
  if (record === undefined || record.revoked || record.expiresAt <= ctx.now()) {
    return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidGrant, 'The assertion is not a valid, unexpired token issued by this workspace')
  }
  if (record.authorizationDetails !== undefined) {
    return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidGrant, 'The assertion must be a workspace (all-apis) token, not a scoped one')
  }
  if (form.get('authorization_details') === null) {
    return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, 'Missing authorization_details')
  }
  return mint(ctx, request, reply, form, record.principal, GRANTS.jwtBearer, ctx.dataPlaneTokenTtlSeconds)
}

const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'

/**
 * Workload identity federation (RFC 8693): a JWT from the organisation's identity provider,
 * checked against the account's federation policies, becomes a workspace token of the policy's
 * principal, living no longer than the subject token. Errors name the failed check, never the token.
 */
async function tokenExchange (ctx: EmulatorContext, request: FastifyRequest, reply: FastifyReply, form: URLSearchParams): Promise<FastifyReply> {
  if (form.get('subject_token_type') !== JWT_TOKEN_TYPE) return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, `subject_token_type must be ${JWT_TOKEN_TYPE}`)
  const subjectToken = form.get('subject_token')
  if (subjectToken === null || subjectToken === '') return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidRequest, 'Missing subject_token')
  if (!(form.get('scope') ?? '').split(' ').includes('all-apis')) return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidScope, 'scope must include all-apis')
  const clientId = form.get('client_id')
  const principalOf = (p: FederationPolicy): EmulatorPrincipal | undefined => ctx.principals.find(x => x.clientId === (p.clientId ?? ctx.principals[0]?.clientId))
  const policies = ctx.federationPolicies.filter(p => clientId === null || principalOf(p)?.clientId === clientId)
  if (policies.length === 0) return sendOAuthError(reply, 401, OAUTH_ERRORS.invalidClient, 'No federation policy for this client')
  let failure = 'the subject token matches no federation policy'
  for (const policy of policies) {
    try {
      const { payload } = await jwtVerify(subjectToken, createLocalJWKSet(policy.jwks as JSONWebKeySet), {
        issuer: policy.issuer,
        audience: policy.audience,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(ctx.now())
      })
      if (payload.sub !== policy.subject) {
        failure = 'the subject token\'s sub is not the policy\'s subject'
        continue
      }
      const principal = principalOf(policy)
      const left = Math.floor((payload.exp as number) - ctx.now() / 1000)
      if (principal === undefined || left <= 0) continue
      // The workspace token lives no longer than the subject token it came from.
      const scoped = new URLSearchParams(form)
      scoped.delete('authorization_details')
      return mint(ctx, request, reply, scoped, principal, GRANTS.tokenExchange, Math.min(ctx.tokenTtlSeconds, left))
    } catch (err) {
      failure = `the subject token failed a check (${(err as { code?: string }).code ?? 'invalid'})`
    }
  }
  return sendOAuthError(reply, 400, OAUTH_ERRORS.invalidGrant, failure)
}

function mint (
  ctx: EmulatorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  form: URLSearchParams,
  principal: EmulatorPrincipal,
  grant: Grant,
  ttlSeconds: number
): FastifyReply {
  let details: AuthorizationDetail[] | undefined
  const raw = form.get('authorization_details')
  if (raw !== null) {
    const parsed = parseAuthorizationDetails(raw, principal, ctx.endpoints)
    if (!parsed.ok) return sendOAuthError(reply, 400, parsed.error, parsed.description)
    details = parsed.details
  }
  const record = ctx.tokens.mint({
    principal,
    authorizationDetails: details,
    grant,
    ttlSeconds,
    issuer: `${baseUrl(request)}/oidc`,
    workspaceId: ctx.workspaceId
  })
  ctx.stats.mint(record)
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({
      access_token: record.token,
      token_type: 'Bearer',
      expires_in: ttlSeconds,
      scope: 'all-apis',
      ...(details === undefined ? {} : { authorization_details: details })
    })
}

function sameSecret (expected: string, given: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}
