// `routegate emulator`: runs the Databricks emulator package's command line (its flags, its output).
import closeWithGrace from 'close-with-grace'
import { runEmulatorCli } from '@routegate/databricks-emulator'

/** `argv` is everything after `emulator`; see `databricks-emulator --help` (packages/databricks-emulator/README.md). */
export async function runEmulator (argv: string[]): Promise<number> {
  const emu = await runEmulatorCli(argv)
  if (emu === undefined) return 0
  closeWithGrace({ delay: 5000 }, async () => { await emu.close() })
  return -1
}
