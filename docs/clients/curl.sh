#!/bin/sh
# routegate from plain HTTP. ROUTEGATE_URL is the gateway, ROUTEGATE_KEY your caller key,
# ROUTEGATE_MODEL an endpoint name from the gateway's config.
set -eu

# The endpoint's own invocation route: the body goes to the endpoint as it is.
curl -sS --fail-with-body "$ROUTEGATE_URL/serving-endpoints/$ROUTEGATE_MODEL/invocations" \
  -H "Authorization: Bearer $ROUTEGATE_KEY" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":5}'
echo

# The OpenAI-compatible route: the endpoint is named by "model".
curl -sS --fail-with-body "$ROUTEGATE_URL/v1/chat/completions" \
  -H "Authorization: Bearer $ROUTEGATE_KEY" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$ROUTEGATE_MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":5}"
echo

# A stream: -N shows each event as it arrives.
curl -sS -N --fail-with-body "$ROUTEGATE_URL/v1/chat/completions" \
  -H "Authorization: Bearer $ROUTEGATE_KEY" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$ROUTEGATE_MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":3,\"stream\":true}"

# The endpoints this caller may use.
curl -sS --fail-with-body "$ROUTEGATE_URL/v1/models" -H "Authorization: Bearer $ROUTEGATE_KEY"
echo
