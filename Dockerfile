# The service's image: one image for every role, the role its argument.
#
#   docker build -t basket-service .
#   docker run basket-service                 # --role all: embedded PGlite in /data, no servers
#   docker run -e DATABASE_URL=… -e NATS_URL=… basket-service worker
#
# A scaled deployment (APIs behind a proxy, workers, projectors, NATS cluster, PostgreSQL with a
# replica): deploy/compose.yaml and docs/deployment.md. test/deploy/package.test.ts runs the same
# steps as this file (pack, production install, start each role) without Docker.

ARG NODE_IMAGE=node:20-bookworm-slim

# Build with every dependency, then keep only what `npm pack` would publish (package.json's
# `files`), installed with production dependencies from the lock file.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY src ./src
COPY migrations ./migrations
COPY public ./public
# prepack builds dist/.
RUN npm pack --pack-destination /tmp \
 && mkdir /app \
 && tar -xzf /tmp/basket-service-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/
WORKDIR /app
RUN npm ci --omit=dev --no-audit --no-fund --prefer-offline

FROM ${NODE_IMAGE} AS runtime
# Listen on every interface of the container; /data is PGlite's, for `--role all` without a database.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PGLITE_DATA_DIR=/data
WORKDIR /app
# The code stays root's and read-only to the process; only /data is the process's to write.
COPY --from=build /app ./
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 3000
# Every role answers /health/ready: the API on PORT, a worker or projector on METRICS_PORT when it is
# set (else PORT). The slim image has no curl: node asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.METRICS_PORT || process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js", "serve", "--role"]
CMD ["all"]
