// A test CA and a server certificate for 127.0.0.1/localhost, kept in a directory so clients can trust the CA across restarts.
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import forge from 'node-forge'

export interface TlsFiles {
  /** The CA certificate to trust (e.g. `NODE_EXTRA_CA_CERTS`). */
  caPath: string
  certPath: string
  keyPath: string
  ca: string
  cert: string
  key: string
}

const generateKeyPairAsync = promisify(generateKeyPair)
const DAY = 24 * 60 * 60 * 1000
// Regenerate a kept certificate this long before it expires.
const RENEW_BEFORE = 7 * DAY

/**
 * The CA (`ca.pem`), server certificate (`cert.pem`, SANs localhost, 127.0.0.1 and ::1) and key
 * (`key.pem`) in `dir`: read if present and valid for another week, else generated (valid a year) and
 * written, the key readable by the owner only.
 */
export async function loadOrCreateTls (dir: string): Promise<TlsFiles> {
  const paths = { caPath: join(dir, 'ca.pem'), certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') }
  const kept = await readKept(paths)
  if (kept !== undefined) return { ...paths, ...kept }
  const made = await generate()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(paths.caPath, made.ca)
  await writeFile(paths.certPath, made.cert)
  await writeFile(paths.keyPath, made.key, { mode: 0o600 })
  return { ...paths, ...made }
}

async function readKept (paths: { caPath: string, certPath: string, keyPath: string }): Promise<{ ca: string, cert: string, key: string } | undefined> {
  try {
    const [ca, cert, key] = await Promise.all([readFile(paths.caPath, 'utf8'), readFile(paths.certPath, 'utf8'), readFile(paths.keyPath, 'utf8')])
    const caCert = new X509Certificate(ca)
    const leaf = new X509Certificate(cert)
    const fresh = Date.parse(leaf.validTo) - Date.now() > RENEW_BEFORE && Date.parse(caCert.validTo) - Date.now() > RENEW_BEFORE
    return fresh && leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey) ? { ca, cert, key } : undefined
  } catch {
    return undefined
  }
}

async function generate (): Promise<{ ca: string, cert: string, key: string }> {
  const notBefore = new Date(Date.now() - DAY)
  const notAfter = new Date(Date.now() + 365 * DAY)
  // Keys from node's crypto (fast, native); node-forge only assembles and signs the certificates.
  const [caKeys, keys] = await Promise.all([rsaKeyPair(), rsaKeyPair()])
  const caAttrs = [{ name: 'commonName', value: 'databricks-emulator test CA' }, { name: 'organizationName', value: 'routegate' }]

  const caCert = forge.pki.createCertificate()
  caCert.publicKey = caKeys.publicKey
  caCert.serialNumber = serial()
  caCert.validity.notBefore = notBefore
  caCert.validity.notAfter = notAfter
  caCert.setSubject(caAttrs)
  caCert.setIssuer(caAttrs)
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' }
  ])
  caCert.sign(caKeys.privateKey, forge.md.sha256.create())

  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
  cert.setSubject([{ name: 'commonName', value: 'localhost' }])
  cert.setIssuer(caAttrs)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // type 2: dNSName, type 7: iPAddress (RFC 5280 §4.2.1.6).
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() }
  ])
  cert.sign(caKeys.privateKey, forge.md.sha256.create())
  return { ca: forge.pki.certificateToPem(caCert), cert: forge.pki.certificateToPem(cert), key: keys.privateKeyPem }
}

async function rsaKeyPair (): Promise<{ publicKey: forge.pki.rsa.PublicKey, privateKey: forge.pki.rsa.PrivateKey, privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
  })
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    privateKeyPem: privateKey
  }
}

/** A positive 16-byte serial number in hex (the high bit clear, as RFC 5280 §4.1.2.2 asks). */
function serial (): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] as number) & 0x7f
  return bytes.toString('hex')
}
