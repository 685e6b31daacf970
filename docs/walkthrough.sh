#!/bin/sh
# From "I have a workspace and a service principal" to "my service calls the endpoint through
# routegate". You provide DATABRICKS_HOST (the workspace URL), DATABRICKS_CLIENT_ID and
# DATABRICKS_CLIENT_SECRET (the service principal's OAuth secret; the principal may create
# serving endpoints), and a Unity Catalog model and feature spec to serve.
# test/cli/walkthrough.test.ts runs this file, as it is, against `routegate emulator --empty`.
set -eu
MODEL=${MODEL:-main.default.fraud_model}
MODEL_VERSION=${MODEL_VERSION:-1}
FEATURE_SPEC=${FEATURE_SPEC:-main.default.user_features}
GATEWAY=http://127.0.0.1:${GATEWAY_PORT:-8080}
ADMIN=http://127.0.0.1:${ADMIN_PORT:-9464}

# 1. A key for the calling service: the service gets the key, the config only its sha256.
#    umask 077: the files written here (the key, the config) are readable by you alone.
umask 077
routegate hash-key > caller-key.txt
CALLER_KEY=$(sed -n 's/^key: *//p' caller-key.txt)
KEY_SHA256=$(sed -n 's/^keySha256: *//p' caller-key.txt)

# 2. The config. The secrets stay in the environment: the file names them with ${env:...}.
cat > routegate.yaml <<EOF
server: { host: 127.0.0.1, port: ${GATEWAY_PORT:-8080} }
admin: { host: 127.0.0.1, port: ${ADMIN_PORT:-9464} }
workspaces:
  - name: prod
    host: $DATABRICKS_HOST
    clientId: \${env:DATABRICKS_CLIENT_ID}
    clientSecret: \${env:DATABRICKS_CLIENT_SECRET}
callers:
  - name: checkout-service
    keySha256: $KEY_SHA256
    endpoints: ['*']
endpoints:
EOF

# 3. A route-optimized model endpoint, waited for until READY. What create prints on stdout is
#    the config snippet that puts the endpoint behind the gateway: append it under endpoints:.
routegate endpoints create fraud-model --config routegate.yaml \
  --model "$MODEL" --version "$MODEL_VERSION" --workload-size Small --scale-to-zero \
  --wait --timeout 20m >> routegate.yaml

# 4. Start the gateway, and wait until it holds a token for the endpoint.
routegate --config routegate.yaml > routegate.log 2>&1 &
echo $! > routegate.pid
for _ in $(seq 1 100); do curl -fsS "$ADMIN/readyz" > /dev/null 2>&1 && break; sleep 0.2; done

# 5. A feature-serving endpoint (a feature spec has no version), added to the running gateway:
#    append its snippet and reload the config with SIGHUP; no restart, no request lost.
routegate endpoints create user-features --config routegate.yaml \
  --feature-spec "$FEATURE_SPEC" --wait >> routegate.yaml
kill -HUP "$(cat routegate.pid)"
for _ in $(seq 1 100); do curl -fsS "$ADMIN/tokens/user-features" > /dev/null 2>&1 && break; sleep 0.2; done

# 6. The service calls both endpoints through routegate with its caller key.
curl -sS "$GATEWAY/serving-endpoints/fraud-model/invocations" \
  -H "Authorization: Bearer $CALLER_KEY" -H 'Content-Type: application/json' \
  -d '{"dataframe_split": {"columns": ["amount", "merchant_risk"], "data": [[120.5, 0.2]]}}'
echo
curl -sS "$GATEWAY/serving-endpoints/user-features/invocations" \
  -H "Authorization: Bearer $CALLER_KEY" -H 'Content-Type: application/json' \
  -d '{"dataframe_records": [{"user_id": 42}]}'
echo

# 7. What the gateway holds: each endpoint's token scope (object_path and action) and expiry,
#    as `routegate token` mints it from the config or reads it from the running gateway; never
#    the token itself (`--reveal` prints a freshly minted one, with a warning).
routegate endpoints list --config routegate.yaml
routegate token fraud-model --config routegate.yaml
routegate token user-features --admin "$ADMIN"

echo "routegate is running as pid $(cat routegate.pid) (config reload: kill -HUP; stop: kill)"
