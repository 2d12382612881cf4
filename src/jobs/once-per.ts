// --once-per: a job runs at most once per period across every server. Each run that starts marks its
// slot first; a fire that finds the slot marked skips, and finding out costs it no write (it is read
// with the leader, see Election.peek).
import {createHash} from 'node:crypto'
import type {Etcd3} from 'etcd3'
import type {ElectionKeys} from '../election/keys.js'

/** A --once-per slot: the period, and which period of it (floor(local time / period)) this run is in. */
export interface OnceSlot {
  periodMs: number
  label: string
}

export function onceSlot(periodMs: number, nowMs = Date.now()): OnceSlot {
  return {periodMs, label: `${periodMs}/${Math.floor(nowMs / periodMs)}`}
}

/** The key whose existence says the slot already ran. */
export function slotMarker(keys: ElectionKeys, slot: OnceSlot, job?: string): string {
  return keys.onceMarker(slot.label, job)
}

/**
 * Marks a once-per slot done, unless it already is; true if this call marked it. The marker has a
 * lease of its own that outlives the slot on any server whose clock is up to a period behind.
 */
export async function markSlotDone(client: Etcd3, keys: ElectionKeys, slot: OnceSlot, by: string, job?: string): Promise<boolean> {
  const lease = await client.leaseClient.leaseGrant({TTL: Math.ceil((2 * slot.periodMs) / 1000) + 60, ID: 0})
  const key = Buffer.from(slotMarker(keys, slot, job))
  const response = await client.kv.txn({
    compare: [{key, target: 'Create', result: 'Equal', create_revision: 0}],
    success: [{request_put: {key, value: Buffer.from(by), lease: lease.ID}}],
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
  return (createHash('sha256').update(value).digest().readUInt32BE(0) / 2 ** 32) * spreadMs
}
