import {readFileSync} from 'node:fs'

/**
 * Milliseconds on CLOCK_MONOTONIC: wall-clock jumps cannot move a deadline computed on it.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/**
 * A monotonic deadline as centiseconds of /proc/uptime, the clock the guard process reads. Rounded
 * down, so that the guard's deadline is never later than elect's.
 */
export function uptimeDeadline(deadlineMs: number): number {
  const uptimeCs = Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100)
  return Math.floor(uptimeCs + (deadlineMs - monotonicMs()) / 10)
}

/** Node's longest timer: it fires one that is longer, or negative, after 1 ms, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Calls `fn` once `ms` have passed on the monotonic clock, however long that is; returns what cancels it. */
export function after(ms: number, fn: () => void): () => void {
  const due = monotonicMs() + ms
  let timer: NodeJS.Timeout
  const arm = () => {
    const left = due - monotonicMs()
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left))
  }
  arm()
  return () => clearTimeout(timer)
}

/** Resolves once `ms` have passed on the monotonic clock, however long that is. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => after(ms, resolve))
}

/** Resolves once `ms` have passed on the monotonic clock, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const cancel = after(ms, done)
    if (signal?.aborted) done()
    else signal?.addEventListener('abort', done, {once: true})
    function done() {
      cancel()
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}

/**
 * When this process was started, by the wall clock: the moment cron or a timer fired it, before
 * Node's own start-up and anything elect waited for.
 */
export function startedAtMs(): number {
  return Date.now() - process.uptime() * 1000
}
