// Deterministic "model" for MLflow custom-model inputs: one number per row, the sum of its numbers.
export type PredictionResult = { ok: true, predictions: number[] } | { ok: false, message: string }

/** The MLflow input envelopes (README, Invocation formats); exactly one must be present. */
export const CUSTOM_MODEL_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const

export function predict (body: Record<string, unknown>): PredictionResult {
  const keys = CUSTOM_MODEL_KEYS.filter(k => Object.hasOwn(body, k))
  const key = keys[0]
  if (key === undefined || keys.length > 1) {
    return {
      ok: false,
      message: `Invalid input: expected exactly one of ${CUSTOM_MODEL_KEYS.join(', ')} (or messages, prompt or input for chat, completions or embeddings), got ${keys.length}.`
    }
  }
  const value = body[key]
  switch (key) {
    case 'dataframe_split': {
      if (!isRecord(value) || !Array.isArray(value.data) || !value.data.every(Array.isArray)) {
        return { ok: false, message: 'dataframe_split must be an object whose data is an array of rows.' }
      }
      if (value.columns !== undefined && !Array.isArray(value.columns)) return { ok: false, message: 'dataframe_split.columns must be an array.' }
      return { ok: true, predictions: value.data.map(sum) }
    }
    case 'dataframe_records':
      if (!Array.isArray(value) || !value.every(isRecord)) return { ok: false, message: 'dataframe_records must be an array of objects.' }
      return { ok: true, predictions: value.map(sum) }
    case 'instances':
      if (!Array.isArray(value)) return { ok: false, message: 'instances must be an array.' }
      return { ok: true, predictions: value.map(sum) }
    case 'inputs':
      if (Array.isArray(value)) return { ok: true, predictions: value.map(sum) }
      if (isRecord(value)) return { ok: true, predictions: columnar(value) }
      return { ok: false, message: 'inputs must be an array or an object.' }
  }
}

/** Columnar tensors `{ col: [v0, v1, …] }` hold one row per index; all-scalar objects are one row. */
function columnar (columns: Record<string, unknown>): number[] {
  const cols = Object.values(columns)
  if (cols.length === 0 || !cols.every(Array.isArray)) return [sum(columns)]
  const rows = Math.max(...cols.map(c => c.length))
  return Array.from({ length: rows }, (_, i) => sum(cols.map(c => c[i])))
}

/** The sum of every finite number in a value, nested arrays and objects included; 0 if none. */
function sum (value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0
  if (Array.isArray(value)) return value.reduce((acc: number, v) => acc + sum(v), 0)
  if (isRecord(value)) return Object.values(value).reduce((acc: number, v) => acc + sum(v), 0)
  return 0
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
