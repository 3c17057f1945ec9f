/** Waiting for work with a bound. */

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
