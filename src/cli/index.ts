#!/usr/bin/env -S node --max-semi-space-size=64
// The `routegate` binary: without a command and a config it is a usage error (exit 64).
// --max-semi-space-size=64: a young generation large enough that the objects of requests in
// flight die young; with the default, a gateway with 1,000 endpoints spent 40 % more CPU per
// request in garbage collection (docs/performance.md "Choices the profile made"). Run as `node dist/cli/index.js`, pass it
// yourself (or in NODE_OPTIONS).
// First, and alone: a SIGHUP during start-up is held, not fatal (early-sighup.ts). The rest is
// imported after it, dynamically: a static import would be loaded (all of the gateway's modules)
// before this one's listener could run.
import './early-sighup.js'
const { run } = await import('./main.js')

run(process.argv.slice(2), { withoutConfig: 'usage' })
