// Preloaded into the gateway process by big-bodies-stream-through.test.ts (with --expose-gc):
// a full collection every 25 ms, so the RSS the test samples is what the gateway holds, not
// chunk buffers waiting for V8's next collection (which may lag by tens of MiB).
setInterval(() => { globalThis.gc() }, 25).unref()
