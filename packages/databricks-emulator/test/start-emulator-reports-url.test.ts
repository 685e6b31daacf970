import t from 'tap'
import { startEmulator } from '../src/index.js'

t.test('url has no trailing slash and endpointUrl is the route-optimized path', async t => {
  const emu = await startEmulator({ workspaceId: '1444828305810485' })
  t.teardown(() => emu.close())
  t.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(emu.endpointUrl('feed-ads'), `${emu.url}/1444828305810485/serving-endpoints/feed-ads/invocations`)
  t.equal((await fetch(`${emu.url}/.well-known/databricks-config`)).status, 200)
})

t.test('an IPv6 host is bracketed in the url', async t => {
  const emu = await startEmulator({ host: '::1' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') return undefined
    throw err
  })
  if (emu === undefined) return t.pass('no IPv6 loopback here')
  t.teardown(() => emu.close())
  t.match(emu.url, /^http:\/\/\[::1\]:\d+$/)
  t.equal((await fetch(`${emu.url}/.well-known/databricks-config`)).status, 200)
})
