// routegate from the Vercel AI SDK with Databricks' provider
// (npm install ai @databricks/ai-sdk-provider): baseURL is the gateway's /serving-endpoints,
// the Authorization header carries your caller key.
import { generateText, streamText } from 'ai'
import { createDatabricksProvider } from '@databricks/ai-sdk-provider'

const databricks = createDatabricksProvider({
  baseURL: `${process.env.ROUTEGATE_URL}/serving-endpoints`,
  headers: { Authorization: `Bearer ${process.env.ROUTEGATE_KEY}` }
})
const model = databricks.chatCompletions(process.env.ROUTEGATE_MODEL)

const { text } = await generateText({ model, prompt: 'Hello', maxOutputTokens: 5 })
console.log('chat:', text)

const result = streamText({ model, prompt: 'Hello', maxOutputTokens: 5 })
let streamed = ''
for await (const part of result.textStream) streamed += part
console.log('stream:', streamed)
