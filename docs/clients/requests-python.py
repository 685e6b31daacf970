# routegate from Python's requests (pip install requests): the invocation route, as Databricks
# documents it for route-optimized endpoints, with your caller key instead of a Databricks token.
import os

import requests

url = os.environ["ROUTEGATE_URL"]
headers = {"Authorization": "Bearer " + os.environ["ROUTEGATE_KEY"]}
model = os.environ["ROUTEGATE_MODEL"]

r = requests.post(f"{url}/serving-endpoints/{model}/invocations", headers=headers,
                  json={"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 5}, timeout=30)
r.raise_for_status()
print("chat:", r.json()["choices"][0]["message"]["content"])

# A stream, event by event.
with requests.post(f"{url}/serving-endpoints/{model}/invocations", headers=headers, stream=True, timeout=30,
                   json={"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 3, "stream": True}) as s:
    for line in s.iter_lines():
        if line:
            print("event:", line.decode())

# The gateway's errors: error_code and message (Databricks' shape), request_id for support.
r = requests.post(f"{url}/serving-endpoints/no-such-endpoint/invocations", headers=headers, json={}, timeout=30)
print("error:", r.status_code, r.json()["error_code"], r.json()["message"])
