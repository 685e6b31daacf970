// Reads OAuth client credentials from HTTP Basic or the form body (RFC 6749 §2.3.1).
export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

/**
 * Basic wins over form fields. Each Basic half is form-urlencoded before base64, as RFC 6749 asks and
 * sdk-js / golang.org/x/oauth2 do, so both are decoded ('+' is a space). Returns undefined when
 * neither is present or the header is malformed; a stray `Bearer` header is not client auth.
 */
export function readClientCredentials (authorization: string | undefined, form: URLSearchParams): ClientCredentials | undefined {
  const basic = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(authorization ?? '')
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon === -1) return undefined
    const clientId = formDecode(decoded.slice(0, colon))
    const clientSecret = formDecode(decoded.slice(colon + 1))
    if (clientId === undefined || clientSecret === undefined) return undefined
    return { clientId, clientSecret }
  }
  const clientId = form.get('client_id')
  const clientSecret = form.get('client_secret')
  if (clientId === null || clientSecret === null) return undefined
  return { clientId, clientSecret }
}

function formDecode (value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}
