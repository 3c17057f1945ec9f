/** Waiting for work with a bound. */
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Whether `work` settles within `ms`: true when it does (its failure in time is thrown), false
 * when it does not (a failure after that is ignored: the caller has gone on without it).
 */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const done = work.then(() => true as const)
  try {
    const inTime = await Promise.race([done, late])
    if (!inTime) done.catch(() => undefined)
    return inTime
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Retries `fn` on the errors `retry` accepts until the deadline (epoch ms), backing off from
 * 200 ms to 2 s; a last try at the deadline, whose error is thrown.
 */
export async function retryUntil<T>(
  deadline: number,
  fn: () => Promise<T>,
  retry: (e: unknown) => boolean,
): Promise<T> {
  for (let wait = 200; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await fn()
    } catch (e) {
      const left = deadline - Date.now()
      if (!retry(e) || left <= 0) throw e
      await sleep(Math.min(wait, left))
    }
  }
}
