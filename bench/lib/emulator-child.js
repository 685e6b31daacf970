// The token endpoint, as a process of its own: the routegate emulator with `--endpoints N`
// serving endpoints (bench, then ep-0001 …). Prints one JSON line (url, credentials, endpoint
// ids) for bench/lib/emulator.js, then serves until SIGTERM. Running it apart keeps its CPU
// out of the bench process; it only works at gateway warm-up (one mint per endpoint id).
import { parseArgs } from 'node:util'
import { startEmulator } from '@routegate/databricks-emulator'
import { ENDPOINT_NAME } from './payloads.js'

const { values } = parseArgs({ options: { endpoints: { type: 'string', default: '1' } } })
const count = Number(values.endpoints)
const names = [ENDPOINT_NAME, ...Array.from({ length: count - 1 }, (_, i) => `ep-${String(i + 1).padStart(5, '0')}`)]
const emu = await startEmulator({ endpoints: names.map(name => ({ name })) })
const p = emu.principals[0]
process.stdout.write(JSON.stringify({
  url: emu.url,
  clientId: p.clientId,
  clientSecret: p.clientSecret,
  endpoints: Object.values(emu.endpoints).map(e => ({ name: e.name, id: e.id }))
}) + '\n')
process.once('SIGTERM', () => { emu.close().then(() => process.exit(0)) })
