# assetstream container image: `docker build -t assetstream .` then `docker run assetstream run`
# (or `docker compose up`, see docker-compose.yml). The default command runs the processor; any
# other command of the CLI works too, e.g. `docker run -i assetstream derive < messages.jsonl`.

# ---- build: compile TypeScript to dist/ (needs the dev dependencies) ----
FROM node:24.22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing in the tree needs one (protobufjs' postinstall is a version notice).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The image carries the processor: the benchmark and the demo are left out of it.
RUN npm run build && rm -rf dist/bench dist/demo

# ---- runtime: production dependencies, dist/ and avro/ side by side ----
FROM node:24.22-bookworm-slim AS runtime
# A 4 MiB young-generation semi-space (V8's default is 16): ~50 MB less RSS, same throughput
# (bench/README.md, "Memory").
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force
# dist/codec/avro-schemas.js reads ../../avro/*.avsc, so avro/ must sit beside dist/.
COPY avro ./avro
COPY --from=build /app/dist ./dist
# Files stay owned by root (read-only for the process); the process runs as the image's `node` user.
USER node
# Liveness from the processor's own endpoint (ASSETSTREAM_METRICS_PORT, 9464 by default); Node's
# fetch, as the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ASSETSTREAM_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
