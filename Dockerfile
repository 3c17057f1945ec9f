# assetstream container image: `docker build -t assetstream .` then `docker run assetstream run`
# (or `docker compose up`, see docker-compose.yml). The default command runs the processor; any
# other command of the CLI works too, e.g. `docker run -i assetstream derive < messages.jsonl`.

# ---- build: compile TypeScript to dist/ (needs the dev dependencies) ----
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing in the tree needs one (protobufjs' postinstall is a version notice).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, dist/ and avro/ side by side ----
FROM node:20.20-bookworm-slim AS runtime
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
# No HEALTHCHECK yet: the HTTP /readyz endpoint comes with the metrics issue.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
