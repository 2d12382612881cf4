// --once-per: a job runs at most once per period across every server. Each run that starts marks its
// slot first; a fire that finds the slot marked skips, and finding out costs it no write (it is read
// with the leader, see Election.peek).
//
// A slot is a period of the calendar the crontab is written in, not of UTC: cron fires by the local
// clock, and across a daylight-saving change UTC periods put two local days' fires in one slot (a
// daily 01:30 job in Europe/Berlin lost the Monday after the spring change) or split one. So a slot is
// a stretch of real time during which the server's local clock showed one period (floor(local time /
// period)), named by the instant it began: when the clock reached the period's start, or jumped
// forward into it. A jump back within the period continues it. So a daily job's day is one slot, 23
// or 25 hours long; autumn's repeated hour, which the clock enters at its start again, is a slot of
// its own, as cron fires an hourly job in both; and a repeated half hour (Lord Howe) is the slot it
// repeats, since its local times are the same again. Servers of one election must share a time zone
// (TZ) for their slots to agree, as their crons must to fire together.
import type {Etcd3, IKeyValue} from 'etcd3'
import type {ElectionKeys} from '../election/keys.js'

export interface OnceSlot {
  periodMs: number
  /** Which slot of the local calendar this fire is in (see calendarSlotStart). */
  label: string
  /**
   * The label elect 0.1 gave the same fire, floor(UTC time / period), where it differs: a fleet that
   * runs old and new elect side by side must not run the slot twice, so the new marks both.
   */
  legacyLabel?: string
}

/** A UTC offset in ms, as the process's time zone (TZ) has it at `atMs`. */
function offsetAt(atMs: number): number {
  return -new Date(atMs).getTimezoneOffset() * 60_000
}

/** The first instant in (after, before] at which the offset is the one at `before` (one change between them). */
function changeAt(after: number, before: number): number {
  const offset = offsetAt(before)
  let [low, high] = [after, before]
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2)
    if (offsetAt(middle) === offset) high = middle
    else low = middle
  }
  return high
}

/** The latest instant in (notBefore, atMs] at which the zone's offset changed, if it did. */
function lastChange(notBefore: number, atMs: number): number | undefined {
  const offset = offsetAt(atMs)
  // Offsets change at most a few times a year and never twice within an hour: an hourly look back
  // finds the latest change, and a bisection its exact millisecond, the same from any fire.
  for (let later = atMs; later > notBefore;) {
    const from = Math.max(later - HOUR_MS, notBefore)
    if (offsetAt(from) !== offset) return changeAt(from, later)
    later = from
  }
  return undefined
}

const HOUR_MS = 3_600_000

/**
 * The instant at which the slot containing `atMs` began (see the top of this file). Walked back across
 * offset changes: a change that left the local clock in the same period continues the slot; one that
 * jumped into it began it. A change that lands exactly on the period's start is that start.
 */
export function calendarSlotStart(atMs: number, periodMs: number): number {
  let offset = offsetAt(atMs)
  const period = Math.floor((atMs + offset) / periodMs)
  let start = period * periodMs - offset
  let until = atMs
  for (let changes = 0; changes < 16; changes++) {
    const change = lastChange(start, until)
    if (change === undefined) return start
    const before = offsetAt(change - 1)
    if (Math.floor((change - 1 + before) / periodMs) !== period) return change
    offset = before
    start = period * periodMs - offset
    until = change - 1
  }
  return start
}

export function onceSlot(periodMs: number, nowMs = Date.now()): OnceSlot {
  const startMs = calendarSlotStart(nowMs, periodMs)
  const legacyLabel = `${periodMs}/${Math.floor(nowMs / periodMs)}`
  // A zone whose periods begin on the UTC grid (an offset that the period divides: minutes everywhere,
  // hours in most zones) names its slots as UTC did: one key, the same as elect 0.1's.
  const label = startMs % periodMs === 0 ? `${periodMs}/${startMs / periodMs}` : `${periodMs}@${startMs}`
  return label === legacyLabel ? {periodMs, label} : {periodMs, label, legacyLabel}
}

/** The keys whose existence may say the slot already ran: its own marker, and elect 0.1's for the same fire. */
export function slotMarkers(keys: ElectionKeys, slot: OnceSlot, job?: string): string[] {
  return [keys.onceMarker(slot.label, job), ...(slot.legacyLabel ? [keys.onceMarker(slot.legacyLabel, job)] : [])]
}

/** What the slot's markers, as slotMarkers() named them, say: done, or free (with the legacy marker to replace, if any). */
export type SlotStanding = {done: true} | {done: false; legacyRevision?: number}

export function slotStanding(slot: OnceSlot, [own, legacy]: Array<IKeyValue | undefined>): SlotStanding {
  if (own) return {done: true}
  if (!legacy) return {done: false}
  // elect 0.1 wrote "<value> <token>"; this one adds the calendar slot it marked. Without one, an old
  // elect ran this UTC period: this fire skips, as it would have. With another, a new elect ran an
  // earlier calendar slot that fell in the same UTC period: not this fire's.
  const marked = legacy.value.toString().split(' ')[2]
  return marked === undefined || marked === slot.label ? {done: true} : {done: false, legacyRevision: Number(legacy.mod_revision)}
}

/**
 * Marks a once-per slot done, unless it already is; true if this call marked it. The markers have a
 * lease of their own that outlives the slot on any server whose clock is up to a period behind.
 */
export async function markSlotDone(
  client: Etcd3,
  keys: ElectionKeys,
  slot: OnceSlot,
  by: string,
  job: string | undefined,
  standing: SlotStanding,
): Promise<boolean> {
  const lease = await client.leaseClient.leaseGrant({TTL: Math.ceil((2 * slot.periodMs) / 1000) + 60, ID: 0})
  const [own, legacy] = slotMarkers(keys, slot, job).map((key) => Buffer.from(key))
  const value = Buffer.from(`${by} ${slot.label}`)
  const legacyRevision = standing.done ? undefined : standing.legacyRevision
  const response = await client.kv.txn({
    compare: [
      {key: own, target: 'Create', result: 'Equal', create_revision: 0},
      ...(legacy
        ? [
            legacyRevision === undefined
              ? {key: legacy, target: 'Create' as const, result: 'Equal' as const, create_revision: 0}
              : {key: legacy, target: 'Mod' as const, result: 'Equal' as const, mod_revision: legacyRevision},
          ]
        : []),
    ],
    success: [own, ...(legacy ? [legacy] : [])].map((key) => ({request_put: {key, value, lease: lease.ID}})),
  })
  if (!response.succeeded) await client.leaseClient.leaseRevoke({ID: lease.ID}).catch(() => undefined)
  return response.succeeded
}

/**
 * How far a fleet's fires of one slot spread out before they campaign: a second, or a tenth of a
 * shorter period. The earliest of N servers waits about spread / N.
 */
export function fleetSpreadMs(slot: OnceSlot): number {
  return Math.min(1000, slot.periodMs / 10)
}

/**
 * A server's place in the spread, from its value: the same for every fire, so that the same server
 * (while healthy and up) tends to win every slot, and the others arrive to find it leading.
 */
export function placeInSpread(value: string, spreadMs: number): number {
  // A cryptographic hash spreads names that differ in one character (web-1, web-2) as far as any.
  // node:crypto is loaded here, not with elect: a fire without --once-per has no use for it.
  return (process.getBuiltinModule('node:crypto').createHash('sha256').update(value).digest().readUInt32BE(0) / 2 ** 32) * spreadMs
}
