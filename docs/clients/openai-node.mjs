// routegate from the OpenAI Node SDK (npm install openai): baseURL is the gateway's
// /serving-endpoints (or /v1), apiKey your caller key, model an endpoint name.
import OpenAI from 'openai'

const client = new OpenAI({
  baseURL: `${process.env.ROUTEGATE_URL}/serving-endpoints`,
  apiKey: process.env.ROUTEGATE_KEY
})
const model = process.env.ROUTEGATE_MODEL

const chat = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 5
})
console.log('chat:', chat.choices[0].message.content)

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Hello' }],
  max_tokens: 5,
  stream: true
})
let streamed = ''
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? ''
console.log('stream:', streamed)

const embedding = await client.embeddings.create({ model: process.env.ROUTEGATE_EMBEDDING_MODEL ?? model, input: 'Hello' })
console.log('embedding dimensions:', embedding.data[0].embedding.length)

for await (const m of client.models.list()) console.log('model:', m.id)

try {
  await client.chat.completions.create({ model: 'no-such-endpoint', messages: [{ role: 'user', content: 'Hello' }] })
} catch (err) {
  // The gateway's own errors carry OpenAI's error object, so the SDK shows their message.
  console.log('error:', err.status, err.message)
}
