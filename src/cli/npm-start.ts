// `npm start`: as the binary, except that with no config it runs the demo, so a fresh checkout
// shows a working gateway with one command. Production runs the binary, never `npm start`.
import { run } from './main.js'

run(process.argv.slice(2), { withoutConfig: 'demo' })
