// expires_in under a second is an invalid_response; a lifetime of a few seconds is valid.
import { createServer } from 'node:http'
import t from 'tap'
import { Agent } from 'undici'
import { clientCredentialsGrant } from '../../src/tokens/grants.js'
import { Secret } from '../../src/config/secret.js'

t.test('expires_in floor', async t => {
  let expiresIn: unknown = 3600
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ access_token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', token_type: 'Bearer', expires_in: expiresIn }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const dispatcher = new Agent()
  t.teardown(async () => { server.close(); await dispatcher.close() })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/oidc/v1/token`
  const grant = async (): Promise<unknown> => await clientCredentialsGrant({ tokenUrl: url, clientId: 'sp', clientSecret: new Secret('s') }, undefined, { dispatcher, timeoutMs: 10_000, now: () => 0 }).catch((e: unknown) => e)
  for (const bad of [0, 0.5, 0.999, -5, '0.2']) {
    expiresIn = bad
    t.match(await grant(), { reason: 'invalid_response', message: /expires_in of at least 1 s/ }, `expires_in ${String(bad)}`)
  }
  for (const [ok, ms] of [[1, 1000], [3, 3000], ['5', 5000], [3600, 3_600_000]] as const) {
    expiresIn = ok
    t.match(await grant(), { expiresInMs: ms }, `expires_in ${String(ok)} is valid`)
  }
})
