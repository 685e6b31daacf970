# routegate container: Node 24 LTS (Node 20 is past end of life), non-root, config mounted.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# A young generation large enough that request objects die young (README, Performance).
ENV NODE_OPTIONS=--max-semi-space-size=64
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/index.js"]
# Mount the config (and the secret files it references) at /etc/routegate.
CMD ["--config", "/etc/routegate/config.yaml"]
