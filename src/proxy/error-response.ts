// The gateway's own error answer, in the contract's JSON shape: Databricks' `error_code` and
// `message` (what Databricks SDKs parse), plus OpenAI's `error` object (what OpenAI SDKs read as
// `body.error`) everywhere but on the invocation route. There Databricks' SDKs are the clients,
// and they read a truthy `error` as the legacy (API 1.2) message *string*: the JS SDK throws
// `body.includes is not a function` on an object, the Python SDK prints it as a dict. Written
// straight to a Node response (the forwarder's early failures and the gateway's own answers share it).
import type { ServerResponse } from 'node:http'
import type { RoutegateError } from '../errors.js'
import { answerHeaders } from './headers.js'

/** OpenAI's error `type` for a status (the names its SDKs and docs use). */
export function openAiErrorType (status: number): string {
  switch (status) {
    case 401: return 'authentication_error'
    case 403: return 'permission_error'
    case 404: return 'not_found_error'
    case 429: return 'rate_limit_error'
    default: return status >= 500 ? 'api_error' : 'invalid_request_error'
  }
}

export interface ErrorBody {
  error_code: string
  message: string
  request_id?: string
  error?: { message: string, type: string, code: string }
}

/** Which shape an error answer takes: `databricks` alone, or `both` (with OpenAI's `error`). */
export type ErrorShape = 'databricks' | 'both'

const INVOCATION_PATH = /^\/serving-endpoints\/[^?]*\/invocations(?:\?|$)/

/** The shape for a request URL: Databricks' alone on the invocation route, else both. */
export function errorShapeFor (url: string | undefined): ErrorShape {
  return url !== undefined && INVOCATION_PATH.test(url) ? 'databricks' : 'both'
}

/** The body of every error the gateway answers itself (the request id when one was assigned). */
export function errorBody (status: number, code: string, message: string, requestId?: string, shape: ErrorShape = 'both'): ErrorBody {
  const body: ErrorBody = { error_code: code, message }
  if (requestId !== undefined) body.request_id = requestId
  if (shape === 'both') body.error = { message, type: openAiErrorType(status), code }
  return body
}

/**
 * Answers `err` with its status and headers; a response that already started (or whose caller
 * left) cannot take one and is cut instead.
 */
export function writeError (res: ServerResponse, err: RoutegateError, requestId: string, shape: ErrorShape): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy()
    return
  }
  const headers: string[] = []
  for (const name in err.headers) headers.push(name, err.headers[name] as string)
  // A caller without valid credentials gets no kept-alive connection to hold on to, and a body
  // refused for its size is not read to its end just to keep the connection.
  if (err.statusCode === 401 || err.statusCode === 413) headers.push('connection', 'close')
  writeJson(res, err.statusCode, JSON.stringify(errorBody(err.statusCode, err.code, err.message, requestId, shape)), requestId, headers)
}

/** A JSON answer of the gateway's own (an error, the model list), with the request id and `extra` headers. */
export function writeJson (res: ServerResponse, status: number, body: string, requestId: string, extra: readonly string[] = []): void {
  const headers: string[] = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), ...answerHeaders(requestId), ...extra]
  res.writeHead(status, headers)
  res.end(body)
}
