// Preloaded into the gateway process by big-bodies-stream-through.test.ts (with --expose-gc):
// a young-generation collection every 25 ms (about a millisecond each), so the RSS the test
// samples is what the gateway holds, not short-lived chunk buffers waiting for V8's next
// collection (which may lag by tens of MiB). A full collection this often would starve the
// process on a loaded machine.
setInterval(() => { globalThis.gc({ type: 'minor' }) }, 25).unref()
