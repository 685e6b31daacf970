# routegate container: Node 24 LTS, multi-stage (build tools and dev dependencies stay in the
# build stage), non-root, config mounted; run with a read-only root filesystem (compose and the
# Kubernetes base do). The build context is only package files, tsconfig and sources (.dockerignore).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/databricks-emulator/package.json ./packages/databricks-emulator/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/databricks-emulator/tsconfig.json packages/databricks-emulator/tsconfig.build.json ./packages/databricks-emulator/
COPY packages/databricks-emulator/src ./packages/databricks-emulator/src
COPY src ./src
RUN npm run build

# The Databricks emulator on its own (docker compose's stand-in workspace; `--target emulator`):
# its package and its runtime dependencies only, never in the gateway's image.
FROM node:24-bookworm-slim AS emulator
WORKDIR /app
COPY --from=build /app/packages/databricks-emulator/package.json ./
COPY --from=build /app/packages/databricks-emulator/dist ./dist
RUN npm install --omit=dev --no-audit --no-fund
USER node
EXPOSE 8081 8443
ENTRYPOINT ["node", "dist/bin.js"]

# The gateway's demo/emulator commands compile against the Databricks emulator package (a dev
# dependency, for tests and the demo): the production stage gets neither the package nor them.
FROM build AS prune
RUN npm prune --omit=dev && rm -rf node_modules/@routegate dist/.tsbuildinfo dist/cli/commands/demo.* dist/cli/commands/emulator.*

# The gateway (the default target: the last stage).
FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=prune /app/package.json ./
COPY --from=prune /app/node_modules ./node_modules
COPY --from=prune /app/dist ./dist
USER node
# A young generation large enough that request objects die young (docs/performance.md "Choices the profile made").
ENV NODE_OPTIONS=--max-semi-space-size=64
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# Ready (not just alive): /readyz is 503 while warming up, draining, or with no endpoint servable.
# The admin port is ROUTEGATE_ADMIN_PORT (9464 unless set): with another admin.port, set it too,
# or write `port: ${env:ROUTEGATE_ADMIN_PORT}` under admin: in the config so both read one value.
ENV ROUTEGATE_ADMIN_PORT=9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ROUTEGATE_ADMIN_PORT || '9464') + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/index.js"]
# Mount the config (and the secret files it references) at /etc/routegate.
CMD ["--config", "/etc/routegate/config.yaml"]
