// The invocation route's URL: `POST /serving-endpoints/{name}/invocations` with a plain name goes
// to the node:http fast path (gateway.ts); anything fastify must decode first goes to its router.
import { isName } from '../config/names.js'

const PREFIX = '/serving-endpoints/'
const SUFFIX = '/invocations'

/**
 * The endpoint name of an invocation URL whose name needs no decoding, or undefined (then
 * fastify routes the request). A query string is ignored, as the router ignores it.
 */
export function invocationName (url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith(PREFIX)) return undefined
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (!path.endsWith(SUFFIX)) return undefined
  const name = path.slice(PREFIX.length, path.length - SUFFIX.length)
  // A plain name starts with a letter or digit, so it is never `.` or `..`.
  return isName(name) ? name : undefined
}
