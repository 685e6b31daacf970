// startEmulator: builds the emulator and listens on a local port.
import type { RunningEmulator, StartEmulatorOptions } from './types.js'
import { buildEmulator } from './emulator.js'

export async function startEmulator (opts: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { host = '127.0.0.1', port = 0, ...options } = opts
  const emulator = buildEmulator(options)
  await emulator.app.listen({ host, port })
  const address = emulator.app.server.address()
  /* c8 ignore next - listen() on a TCP host always yields an AddressInfo */
  if (address === null || typeof address === 'string') throw new Error('emulator did not bind a TCP port')
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  return {
    ...emulator,
    url,
    endpointUrl: (name: string) => `${url}/${emulator.workspaceId}/serving-endpoints/${name}/invocations`,
    close: () => emulator.app.close()
  }
}
