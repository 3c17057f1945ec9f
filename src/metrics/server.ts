/**
 * The operations endpoint: `/metrics` (Prometheus text), `/healthz` (the process is alive and its
 * consumer has not crashed), `/readyz` (connected, in the group, lineage state restored).
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export interface Health {
  alive(): boolean
  /** Undefined when ready, else why not. */
  notReady(): string | undefined
}

export async function startOpsServer(
  host: string,
  port: number,
  registry: Registry,
  health: Health,
): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url?.split('?')[0]
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type })
      res.end(body)
    }
    if (req.method !== 'GET') return reply(405, 'method not allowed\n')
    switch (url) {
      case '/metrics':
        registry.metrics().then(
          (text) => reply(200, text, registry.contentType),
          (e: unknown) => reply(500, `${(e as Error).message}\n`),
        )
        return
      case '/healthz':
        return health.alive() ? reply(200, 'ok\n') : reply(503, 'consumer crashed\n')
      case '/readyz': {
        const why = health.notReady()
        return why === undefined ? reply(200, 'ready\n') : reply(503, `${why}\n`)
      }
      default:
        return reply(404, 'not found: try /metrics, /healthz or /readyz\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}
