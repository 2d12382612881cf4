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
