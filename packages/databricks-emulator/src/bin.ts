#!/usr/bin/env node
// The `databricks-emulator` binary: runs until SIGINT/SIGTERM; a usage error exits 64.
import closeWithGrace from 'close-with-grace'
import { runEmulatorCli, USAGE } from './cli.js'

try {
  const emu = await runEmulatorCli(process.argv.slice(2))
  if (emu !== undefined) closeWithGrace({ delay: 5000 }, async () => { await emu.close() })
} catch (err) {
  const usage = (err as { code?: string }).code === 'EMULATOR_USAGE'
  process.stderr.write(`databricks-emulator: ${(err as Error).message}\n${usage ? `\n${USAGE}` : ''}`)
  process.exitCode = usage ? 64 : 1
}
