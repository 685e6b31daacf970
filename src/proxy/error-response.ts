// The gateway's own error answer, in the contract's JSON shape, written straight to a Node
// response (the forwarder's early failures and the invocation route share it).
import type { ServerResponse } from 'node:http'
import type { RoutegateError } from '../errors.js'

/**
 * Answers `err` as `{ error_code, message, request_id }` with its status and headers; a response
 * that already started (or whose caller left) cannot take one and is cut instead.
 */
export function writeError (res: ServerResponse, err: RoutegateError, requestId: string): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy()
    return
  }
  const body = JSON.stringify({ error_code: err.code, message: err.message, request_id: requestId })
  const headers: string[] = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId]
  for (const name in err.headers) headers.push(name, err.headers[name] as string)
  // A caller without valid credentials gets no kept-alive connection to hold on to.
  if (err.statusCode === 401) headers.push('connection', 'close')
  res.writeHead(err.statusCode, headers)
  res.end(body)
}
