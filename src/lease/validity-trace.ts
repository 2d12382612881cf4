import {appendFileSync} from 'node:fs'
import {monotonicMs} from '../time/clock.js'

/**
 * For the fault tests' direct check (test/tools/scenarios.ts): with ELECT_TEST_VALIDITY set, each
 * grant and acknowledged renewal appends "<lease id> <epoch ms before which the server cannot expire
 * it>", the send time plus the TTL granted, on this machine's wall clock as it was when the process
 * started, carried on by the monotonic clock: a wall clock stepped meanwhile (a fault of its own) does
 * not move it.
 */
const VALIDITY_TRACE = process.env.ELECT_TEST_VALIDITY
export function traceValidity(leaseId: string, sentAt: number, ttlMs: number): void {
  if (VALIDITY_TRACE)
    appendFileSync(VALIDITY_TRACE, `${leaseId} ${Math.floor(performance.timeOrigin + performance.now() - (monotonicMs() - sentAt) + ttlMs)}\n`)
}
