// Client-certificate identities: the names an authorized TLS peer's certificate carries.
import type { Socket } from 'node:net'
import type { PeerCertificate } from 'node:tls'

/** The part of a TLSSocket this module reads (a plain net.Socket has none of it). */
export interface PeerSocket {
  /** True only when the peer sent a certificate that chains to server.tls.clientCaFile. */
  authorized?: boolean
  getPeerCertificate?: () => PeerCertificate | Record<string, never> | null
}

export type RequestSocket = Socket | PeerSocket

// SAN entry types as Node writes them in `subjectaltname`: a configured subject with one of these
// prefixes matches only that SAN entry, never a CN that happens to be spelled the same.
const SAN_PREFIX = /^(?:DNS|URI|email|IP Address|DirName|Registered ID|othername):/

/** What an mtlsSubjects entry can match: the subject CN(s) and the SAN entries, as written. */
export interface PeerNames {
  cns: string[]
  sans: string[]
}

/**
 * The names of the socket's peer certificate, or undefined when the socket is not TLS or the
 * certificate was not verified (`authorized !== true`): an unverified certificate names no one.
 */
export function peerNames (socket: RequestSocket | undefined): PeerNames | undefined {
  if (socket === undefined || !('getPeerCertificate' in socket) || typeof socket.getPeerCertificate !== 'function') return undefined
  if (socket.authorized !== true) return undefined
  const cert = socket.getPeerCertificate() as Partial<PeerCertificate> | null
  if (cert === null || typeof cert !== 'object') return undefined
  const cn = (cert.subject as Record<string, string | string[] | undefined> | undefined)?.CN
  const cns = cn === undefined ? [] : Array.isArray(cn) ? cn : [cn]
  const sans = typeof cert.subjectaltname === 'string' && cert.subjectaltname !== '' ? splitAltNames(cert.subjectaltname) : []
  return { cns, sans }
}

/** Whether a configured mtlsSubjects entry names this certificate. */
export function matchesSubject (names: PeerNames, subject: string): boolean {
  return SAN_PREFIX.test(subject) ? names.sans.includes(subject) : names.cns.includes(subject)
}

/**
 * Splits Node's `subjectaltname` ("DNS:a, URI:b") into entries. Since CVE-2021-44532 Node quotes
 * values holding separators as JSON strings (`DNS:"a, DNS:b"`), so a naive split on ', ' would
 * let one crafted entry pose as two; this follows node's own splitEscapedAltNames (lib/tls.js).
 */
export function splitAltNames (altNames: string): string[] {
  const result: string[] = []
  let current = ''
  let offset = 0
  while (offset < altNames.length) {
    const nextSep = altNames.indexOf(', ', offset)
    const nextQuote = altNames.indexOf('"', offset)
    if (nextQuote !== -1 && (nextSep === -1 || nextQuote < nextSep)) {
      current += altNames.slice(offset, nextQuote)
      const match = JSON_STRING.exec(altNames.slice(nextQuote))
      // Malformed quoting: keep nothing of this entry rather than guess.
      if (match === null) return result
      current += JSON.parse(match[0]) as string
      offset = nextQuote + match[0].length
    } else if (nextSep !== -1) {
      current += altNames.slice(offset, nextSep)
      result.push(current)
      current = ''
      offset = nextSep + 2
    } else {
      current += altNames.slice(offset)
      offset = altNames.length
    }
  }
  result.push(current)
  return result
}

// eslint-disable-next-line no-control-regex
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
