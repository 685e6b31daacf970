// The client guide's examples (docs/clients/, shown in docs/clients.md) run against a real gateway
// and the emulator, each in its own process as a user would run it: curl, the OpenAI Node and
// Python SDKs, Python requests, the Vercel AI SDK's Databricks provider, and the Databricks JS SDK
// against a TLS listener with the caller key as its token.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startStack, CALLER_KEY, type Stack } from '../helpers/stack.js'
import { makePki, NO_OPENSSL } from '../helpers/pki.js'

const DIR = fileURLToPath(new URL('../../docs/clients/', import.meta.url))
const GUIDE = readFileSync(fileURLToPath(new URL('../../docs/clients.md', import.meta.url)), 'utf8')
// CI installs Python's openai and requests (.ci/run): there a missing one is a failure, not a skip.
const REQUIRE_ALL = process.env.CI === 'true'

interface Run { code: number, stdout: string, stderr: string }

async function run (cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return await new Promise(resolve => {
    execFile(cmd, args, { cwd: DIR, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

function envFor (s: Stack): Record<string, string> {
  return { ROUTEGATE_URL: s.gatewayUrl, ROUTEGATE_KEY: CALLER_KEY, ROUTEGATE_MODEL: 'fraud-model', ROUTEGATE_EMBEDDING_MODEL: 'embedder' }
}

async function python (module: string): Promise<boolean> {
  return (await run('python3', ['-c', `import ${module}`], {})).code === 0
}

// The embedder answers arrays of numbers whatever the request asks (as many endpoints do): the
// SDKs ask for base64 and get it from the gateway, so they print the vector's real dimension.
const EMBEDDING_DIMENSIONS = 8
const stackOptions = {
  emulator: { endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }, { name: 'embedder', task: 'llm/v1/embeddings' as const, embeddingDimensions: EMBEDDING_DIMENSIONS, honourEncodingFormat: false }] }
}

t.test('every example is shown in docs/clients.md as it is in docs/clients', async t => {
  for (const file of ['curl.sh', 'openai-node.mjs', 'openai-python.py', 'requests-python.py', 'vercel-ai.mjs', 'databricks-sdk.mjs']) {
    const body = readFileSync(join(DIR, file), 'utf8').trim()
    t.ok(GUIDE.includes(body), `docs/clients.md shows docs/clients/${file} verbatim`)
  }
})

t.test('curl', async t => {
  const s = await startStack(t, stackOptions)
  const r = await run('sh', ['curl.sh'], envFor(s))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /"content":"t0 t1 t2 t3 t4"/)
  t.match(r.stdout, /data: \[DONE\]/)
  t.match(r.stdout, /"object":"list"/)
})

t.test('OpenAI Node SDK: chat, stream, embeddings, models, an error', async t => {
  const s = await startStack(t, stackOptions)
  const r = await run(process.execPath, ['openai-node.mjs'], envFor(s))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^chat: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, /^stream: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, new RegExp(`^embedding dimensions: ${EMBEDDING_DIMENSIONS}$`, 'm'))
  t.match(r.stdout, /^model: fraud-model$/m)
  t.match(r.stdout, /^error: 404 .*no endpoint named 'no-such-endpoint'/m)
})

const hasOpenai = await python('openai')
t.test('OpenAI Python SDK', { skip: hasOpenai || REQUIRE_ALL ? false : 'Python openai is not installed (pip install openai; .ci/run installs it)' }, async t => {
  t.ok(hasOpenai, 'Python openai is installed')
  const s = await startStack(t, stackOptions)
  const r = await run('python3', ['openai-python.py'], envFor(s))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^chat: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, /^stream: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, new RegExp(`^embedding dimensions: ${EMBEDDING_DIMENSIONS}$`, 'm'))
  t.match(r.stdout, /^model: feed-ads$/m)
  t.match(r.stdout, /^error: 404 .*no endpoint named 'no-such-endpoint'/m)
})

const hasRequests = await python('requests')
t.test('Python requests', { skip: hasRequests || REQUIRE_ALL ? false : 'Python requests is not installed (pip install requests; .ci/run installs it)' }, async t => {
  t.ok(hasRequests, 'Python requests is installed')
  const s = await startStack(t, stackOptions)
  const r = await run('python3', ['requests-python.py'], envFor(s))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^chat: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, /^event: data: \[DONE\]$/m)
  t.match(r.stdout, /^error: 404 ENDPOINT_NOT_FOUND no endpoint named 'no-such-endpoint'$/m)
})

t.test('Vercel AI SDK with the Databricks provider', async t => {
  const s = await startStack(t, stackOptions)
  const r = await run(process.execPath, ['vercel-ai.mjs'], envFor(s))
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^chat: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, /^stream: t0 t1 t2 t3 t4$/m)
})

const major = Number(process.versions.node.split('.')[0])
t.test('Databricks JS SDK against a TLS gateway, the caller key as its token', {
  skip: NO_OPENSSL !== false ? NO_OPENSSL : major < 22 ? '@databricks/sdk-experimental needs Node 22 or later (its engines field)' : false
}, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sdk-'))
  makePki(dir)
  const s = await startStack(t, {
    ...stackOptions,
    config: (doc) => { doc.server.tls = { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') } }
  })
  t.match(s.gatewayUrl, /^https:/)
  const r = await run(process.execPath, ['databricks-sdk.mjs'], { ...envFor(s), NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt') })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^chat: t0 t1 t2 t3 t4$/m)
  t.match(r.stdout, /^error: ENDPOINT_NOT_FOUND .*no endpoint named 'no-such-endpoint'/m)
})
