// The fence: a holder counts its lease as lost some time before the server could first expire it,
// so that its job is dead before anyone else can lead. One rule, for a run's own lease and for the
// campaign's that a run borrows; Session arms it, the guard enforces it on the job.
import type {EventEmitter} from 'node:events'

/**
 * What must fit between "the lease might be gone" and the job's kill sequence beyond --kill-grace:
 * timer lateness, signal delivery, process teardown.
 */
export const SAFETY_MARGIN_MS = 1000

/** Time for an attached job's report that it is dead to reach the campaign once its fence has passed. */
const REPORT_MS = 1000

/**
 * How long before its lease could expire the holder of a job stopped with `killGraceMs` between the
 * kill signal and SIGKILL counts the lease lost (a campaign, which holds no job itself: 0).
 */
export function fenceLeadMs(killGraceMs = 0): number {
  return killGraceMs + SAFETY_MARGIN_MS
}

/** Whether a lease of `ttlMs` leaves a holder with `killGraceMs` any time to hold it before its fence. */
export function ttlExceedsFenceLead(ttlMs: number, killGraceMs = 0): boolean {
  return ttlMs > fenceLeadMs(killGraceMs)
}

/**
 * How often a lease of `grantedTtlMs` is renewed: three times within the narrowest window a holder
 * relies on (the TTL less its fence lead `leadMs`), so that two lost round trips are survived; at
 * most every 100 ms.
 */
export function renewalIntervalMs(grantedTtlMs: number, leadMs: number): number {
  return Math.max(100, (grantedTtlMs - leadMs) / 3)
}

/**
 * Until when a lease is certainly valid once a renewal sent at `sentAt` was acknowledged with
 * `ttlMs`: the server cannot expire it before the send plus the TTL. A late answer to an older
 * renewal never takes validity back.
 */
export function validityAfter(validUntil: number, sentAt: number, ttlMs: number): number {
  return Math.max(validUntil, sentAt + ttlMs)
}

/** The instant (monotonic ms) by which a job that relies on every lease in `leases` must be stopped. */
export function jobDeadline(leases: LeaseView[], killGraceMs: number): number {
  return Math.min(...leases.map((lease) => lease.validUntil)) - fenceLeadMs(killGraceMs)
}

/** How long a campaign that ends waits for the jobs attached to it to report their groups dead. */
export function attachedJobsEndWithinMs(longestKillGraceMs: number): number {
  return fenceLeadMs(longestKillGraceMs) + REPORT_MS
}

/**
 * What a run needs of a lease its job relies on, whether a Session of its own or the leadership a
 * campaign lent it: until when it is certainly valid ('renewed' says when that moves), and whether it
 * is known lost ('lost', once).
 */
export interface LeaseView extends EventEmitter {
  readonly validUntil: number
  readonly lost?: string
}
