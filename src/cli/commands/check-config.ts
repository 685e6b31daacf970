// `routegate check-config --config FILE`: validates and prints the resolved config, secrets masked.
import { configWarnings, loadConfig } from '../../config/load.js'

export function runCheckConfig (opts: { configPath: string }): number {
  const config = loadConfig(opts.configPath)
  // Secrets serialise as a mask (config/secret.ts), so the whole config can be printed.
  process.stdout.write(JSON.stringify(config, null, 2) + '\n')
  for (const w of configWarnings(config)) process.stderr.write(`warning: ${w.field}: ${w.message}\n`)
  process.stderr.write(`config ok: ${config.workspaces.length} workspace(s), ${config.endpoints.length} endpoint(s), ${config.callers.length} caller(s)\n`)
  return 0
}
