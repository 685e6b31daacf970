// Attribution: `endpoints[].clientRequestId` puts `"client_request_id": "<caller>:<request id>"`
// into JSON object bodies, so the rows an endpoint's Databricks inference table records (whose
// `requester` is null for route-optimized endpoints) join the gateway's own records. Databricks
// documents `client_request_id` as a user-provided identifier of the serving request body
// (docs/databricks-protocol.md). The member goes first, so nothing of the caller's bytes is
// re-serialized: big integers, key order and number spellings reach the endpoint as sent.

export const CLIENT_REQUEST_ID = 'client_request_id'

/** The value routegate sends: the caller's configured name and the request id, both plain text. */
export function clientRequestIdValue (caller: string, requestId: string): string {
  return `${caller}:${requestId}`
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * `json` (a JSON object, already validated, without a top-level `client_request_id`) with
 * `"client_request_id": value` as its first member.
 */
export function withClientRequestId (json: Buffer, value: string): Buffer {
  let open = 0
  while (WS.has(json[open] as number)) open++
  let next = open + 1
  while (WS.has(json[next] as number)) next++
  const empty = json[next] === 0x7d
  const member = Buffer.from(`${JSON.stringify(CLIENT_REQUEST_ID)}:${JSON.stringify(value)}${empty ? '' : ','}`)
  return Buffer.concat([json.subarray(0, open + 1), member, json.subarray(open + 1)])
}
