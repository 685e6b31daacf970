// Deterministic feature lookups: one output row per `dataframe_records` record, the same for the same keys.
import { createHash } from 'node:crypto'

export type FeatureResult = { ok: true, outputs: Array<Record<string, unknown>> } | { ok: false, message: string }

/** The lookup keys of each record come back with three features derived from the spec name and the keys. */
export function lookupFeatures (spec: string, body: Record<string, unknown>): FeatureResult {
  const records = body.dataframe_records
  const others = Object.keys(body).filter(k => k !== 'dataframe_records' && k !== 'params' && k !== 'client_request_id')
  if (!Array.isArray(records) || others.length > 0) {
    return { ok: false, message: 'A feature serving endpoint takes {"dataframe_records": [{<lookup keys>}, ...]}.' }
  }
  if (!records.every(r => typeof r === 'object' && r !== null && !Array.isArray(r) && Object.keys(r).length > 0)) {
    return { ok: false, message: 'Each of dataframe_records must be an object of lookup keys.' }
  }
  return {
    ok: true,
    outputs: records.map((record: Record<string, unknown>) => {
      const keys = Object.keys(record).sort().map(k => [k, record[k]])
      const digest = createHash('sha256').update(JSON.stringify([spec, keys])).digest()
      const feature = (i: number): number => Math.round((digest.readUInt32BE(i * 4) / 0xffffffff) * 1e6) / 1e6
      return { ...record, feature_0: feature(0), feature_1: feature(1), feature_2: feature(2) }
    })
  }
}
