# The gateway as a container: built JavaScript run by plain `node`, production dependencies only, non-root.
# Stage 1 compiles with the devDependencies (TypeScript); stage 2 ships dist/ and the pruned node_modules.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 (native) compiles against the image's own Node headers when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY gateway ./gateway
COPY rules ./rules
COPY profiles ./profiles
COPY simulators ./simulators
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY config ./config
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 1883 8080
VOLUME /app/data
# /healthz answers while the process runs (compose checks /readyz, which also needs InfluxDB). No curl needed.
# The port follows the config: healthcheck.mjs reads http.port from the file after --config on the gateway's
# command line (8080 when unset; HEALTHCHECK_PORT overrides). EXPOSE is documentation only: publish the port set.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs", "/healthz"]
ENTRYPOINT ["node", "--max-semi-space-size=32", "dist/gateway/src/main.js"]
CMD ["--config", "/app/config/docker.yaml"]
