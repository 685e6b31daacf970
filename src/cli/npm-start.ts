// `npm start`: as the binary, except that with no config it runs the demo, so a fresh checkout
// shows a working gateway with one command. Production runs the binary, never `npm start`.
// First, and alone: a SIGHUP during start-up is held, not fatal (early-sighup.ts). The rest is
// imported after it, dynamically: a static import would be loaded (all of the gateway's modules)
// before this one's listener could run.
import './early-sighup.js'
const { run } = await import('./main.js')

run(process.argv.slice(2), { withoutConfig: 'demo' })
