# routegate from the OpenAI Python SDK (pip install openai): base_url is the gateway's
# /serving-endpoints (or /v1), api_key your caller key, model an endpoint name.
import os

from openai import OpenAI, NotFoundError

client = OpenAI(base_url=os.environ["ROUTEGATE_URL"] + "/serving-endpoints", api_key=os.environ["ROUTEGATE_KEY"])
model = os.environ["ROUTEGATE_MODEL"]

chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=5)
print("chat:", chat.choices[0].message.content)

streamed = ""
for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=5, stream=True):
    if chunk.choices:
        streamed += chunk.choices[0].delta.content or ""
print("stream:", streamed)

embedding = client.embeddings.create(model=os.environ.get("ROUTEGATE_EMBEDDING_MODEL", model), input="Hello")
print("embedding dimensions:", len(embedding.data[0].embedding))

for m in client.models.list():
    print("model:", m.id)

try:
    client.chat.completions.create(model="no-such-endpoint", messages=[{"role": "user", "content": "Hello"}])
except NotFoundError as err:
    print("error:", err.status_code, err.message)
