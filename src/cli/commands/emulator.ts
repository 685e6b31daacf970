// `routegate emulator`: runs the Databricks emulator alone and prints how to use it.
import closeWithGrace from 'close-with-grace'
import { startEmulator } from '../../emulator/index.js'
import { EMULATOR_ACTIONS } from '../../emulator/types.js'

/**
 * `clientId`/`clientSecret` fix the service principal's credentials (else random each start),
 * so a config written for this emulator keeps working across restarts (docker compose).
 */
export async function runEmulator (opts: { port: number, host: string, clientId?: string | undefined, clientSecret?: string | undefined }): Promise<number> {
  const principals = opts.clientId === undefined || opts.clientSecret === undefined
    ? undefined
    : [{ clientId: opts.clientId, clientSecret: opts.clientSecret, permissions: [{ endpoint: '*', actions: [...EMULATOR_ACTIONS] }] }]
  const emu = await startEmulator({ port: opts.port, host: opts.host, logger: { level: 'info' }, ...(principals === undefined ? {} : { principals }) })
  const p = emu.principals[0]
  const lines = [
    `Databricks emulator on ${emu.url} (workspace id ${emu.workspaceId})`,
    `  token endpoint: ${emu.url}/oidc/v1/token`,
    p === undefined ? '' : `  service principal: clientId=${p.clientId} clientSecret=${p.clientSecret}   (test credentials of this emulator only)`,
    ...Object.values(emu.endpoints).map(e => `  endpoint ${e.name}: id=${e.id} url=${emu.endpointUrl(e.name)}`),
    ''
  ]
  process.stdout.write(lines.filter(l => l !== '').join('\n') + '\n')
  closeWithGrace({ delay: 5000 }, async () => { await emu.close() })
  return -1
}
