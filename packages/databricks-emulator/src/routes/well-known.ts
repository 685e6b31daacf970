// Discovery documents: workspace OIDC metadata and the newer host metadata (README, Token endpoint).
import type { FastifyInstance } from 'fastify'
import type { EmulatorContext } from '../context.js'
import { baseUrl } from '../context.js'

export function wellKnownRoutes (ctx: EmulatorContext) {
  return async function routegateEmulatorWellKnown (app: FastifyInstance): Promise<void> {
    app.get('/oidc/.well-known/oauth-authorization-server', async request => {
      const base = baseUrl(request)
      return {
        issuer: `${base}/oidc`,
        authorization_endpoint: `${base}/oidc/v1/authorize`,
        token_endpoint: `${base}/oidc/v1/token`
      }
    })

    app.get('/.well-known/databricks-config', async request => ({
      oidc_endpoint: `${baseUrl(request)}/oidc`,
      workspace_id: ctx.workspaceId,
      cloud: 'AWS'
    }))
  }
}
