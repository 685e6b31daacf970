// startEmulator: builds the emulator and listens on a local port (and, on request, an HTTPS one).
import { once } from 'node:events'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningEmulator, RunningTls, StartEmulatorOptions } from './types.js'
import { buildEmulator } from './emulator.js'

export const DEFAULT_TLS_DIR = join(tmpdir(), 'databricks-emulator-tls')

export async function startEmulator (opts: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { host = '127.0.0.1', port = 0, tls: tlsOption, ...options } = opts
  const emulator = buildEmulator(options)
  await emulator.app.listen({ host, port })
  const url = urlOf('http', emulator.app.server.address())
  let https: HttpsServer | undefined
  let tls: RunningTls | undefined
  if (tlsOption !== undefined && tlsOption !== false) {
    const t = tlsOption === true ? {} : tlsOption
    try {
      // Loaded on demand: certificate generation is not needed by plain HTTP runs.
      const { loadOrCreateTls } = await import('./tls.js')
      const files = await loadOrCreateTls(t.dir ?? DEFAULT_TLS_DIR)
      // The same fastify app behind a second server: fastify's `routing` is its request handler.
      https = createHttpsServer({ key: files.key, cert: files.cert }, emulator.app.routing)
      https.listen({ host: t.host ?? host, port: t.port ?? 0 })
      await once(https, 'listening')
      tls = { url: urlOf('https', https.address()), caPath: files.caPath, certPath: files.certPath, keyPath: files.keyPath, ca: files.ca }
    } catch (err) {
      https?.close()
      await emulator.app.close()
      throw err
    }
  }
  const close = async (): Promise<void> => {
    https?.close()
    await emulator.app.close()
    // Keep-alive and streaming connections: fastify's forceCloseConnections covers its own server only.
    https?.closeAllConnections()
  }
  return {
    ...emulator,
    url,
    endpointUrl: (name: string) => `${url}/${emulator.workspaceId}/serving-endpoints/${name}/invocations`,
    ...(tls === undefined ? {} : { tls }),
    close
  }
}

function urlOf (scheme: 'http' | 'https', address: AddressInfo | string | null): string {
  /* c8 ignore next - listen() on a TCP host always yields an AddressInfo */
  if (address === null || typeof address === 'string') throw new Error('emulator did not bind a TCP port')
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
}
