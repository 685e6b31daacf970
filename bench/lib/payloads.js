// The fixed request and response bodies: a small scoring request and its answer, sized like a
// typical tabular-model call (327 bytes in, ~215 bytes out) so every proxy moves the same bytes.
export const REQUEST_BODY = '{"dataframe_split":{"columns":["amount","merchant_id","card_age_days","country","channel","hour","velocity_1h","velocity_24h"],"data":[[129.95,"m_48213",412,"DE","web",14,2,7],[18.5,"m_10077",35,"FR","pos",9,1,3],[2299,"m_99120",3,"US","web",3,6,19],[42.1,"m_5503",129,"NL","app",21,1,1]]},"params":{"threshold":0.5,"top_k":3}}'

export const RESPONSE_BODY = '{"predictions":[{"score":0.0712,"label":"legit"},{"score":0.0139,"label":"legit"},{"score":0.9431,"label":"fraud"},{"score":0.0057,"label":"legit"}],"model":"fraud-model-1","model_version":"17.1","latency_ms":3.125}'

/** The path every target is called on (routegate routes by it; the others pass it through). */
export const ENDPOINT_NAME = 'bench'
export const INVOKE_PATH = `/serving-endpoints/${ENDPOINT_NAME}/invocations`

// Guard against an edit that silently changes what is measured.
if (Buffer.byteLength(REQUEST_BODY) !== 327) throw new Error(`request body is ${Buffer.byteLength(REQUEST_BODY)} bytes, not 327`)
if (Buffer.byteLength(RESPONSE_BODY) !== 215) throw new Error(`response body is ${Buffer.byteLength(RESPONSE_BODY)} bytes, not 215`)
