// An inference-table-like log: one row per invocation the data plane or workspace URL served or
// refused after authenticating it, with the fields Databricks' inference tables use to join rows to
// callers (`client_request_id`, `databricks_request_id`). Route-optimized endpoints record
// `requester` as null there; so does the data-plane route here (README, Inference log).

/** One row, named as in a Databricks inference table. */
export interface InferenceRow {
  /** The `x-request-id` the emulator answered with. */
  databricks_request_id: string
  /** The body's top-level `client_request_id` when it is a string, else null. */
  client_request_id: string | null
  /** The endpoint name the request was addressed to. */
  endpoint: string
  served_model_name: string
  /** Epoch milliseconds when the emulator answered (or started the stream). */
  timestamp_ms: number
  status_code: number
  /** Who called: null on the route-optimized data plane, as on Databricks. */
  requester: string | null
  /** How many bytes of body arrived. */
  request_bytes: number
}

/** The longest `client_request_id` kept (Databricks' column is a free string; the emulator bounds it). */
export const MAX_CLIENT_REQUEST_ID = 512

export class InferenceLog {
  readonly #rows: InferenceRow[] = []
  readonly #capacity: number

  constructor (capacity = 10_000) {
    this.#capacity = capacity
  }

  add (row: InferenceRow): void {
    this.#rows.push(row)
    if (this.#rows.length > this.#capacity) this.#rows.shift()
  }

  /** Rows oldest first, of one endpoint when `endpoint` is given. */
  rows (endpoint?: string): InferenceRow[] {
    const rows = endpoint === undefined ? this.#rows : this.#rows.filter(r => r.endpoint === endpoint)
    return rows.map(r => ({ ...r }))
  }

  reset (): void {
    this.#rows.length = 0
  }
}

/** A body's top-level `client_request_id`, when it is a string of sane length. */
export function clientRequestIdOf (input: Record<string, unknown>): string | null {
  const value = Object.hasOwn(input, 'client_request_id') ? input.client_request_id : undefined
  return typeof value === 'string' && value.length <= MAX_CLIENT_REQUEST_ID ? value : null
}
