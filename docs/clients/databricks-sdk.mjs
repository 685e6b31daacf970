// routegate from the Databricks JS SDK (npm install @databricks/sdk-experimental): the SDK wants
// an https host, so the gateway listens with TLS (server.tls); the caller key is the SDK's token.
// NODE_EXTRA_CA_CERTS must name the CA of the gateway's certificate when it is not public.
import { WorkspaceClient } from '@databricks/sdk-experimental'

const w = new WorkspaceClient({ host: process.env.ROUTEGATE_URL, token: process.env.ROUTEGATE_KEY, authType: 'pat' })
const model = process.env.ROUTEGATE_MODEL

const answer = await w.servingEndpoints.query({ name: model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5 })
console.log('chat:', answer.choices[0].message.content)

try {
  await w.servingEndpoints.query({ name: 'no-such-endpoint', inputs: [1] })
} catch (err) {
  // The SDK reads Databricks' error shape: error_code and message.
  console.log('error:', err.errorCode ?? err.error_code, err.message)
}
