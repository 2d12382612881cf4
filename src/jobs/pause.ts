// A pause: while its key stands, every run of the election (or of one job) skips, on every server.
// A fire finds it in the read it makes anyway (Election.peek); the claim of a job's running marker
// compares it too, so no command starts once a pause is written, not even a waiter's whose turn came.
import type {Etcd3, ICompare, IKeyValue, IRangeRequest, IRequestOp} from 'etcd3'
import {type ElectionKeys, prefixEnd} from '../election/keys.js'

export interface Pause {
  /** undefined: the whole election. */
  job?: string
  /** Who paused: user@host. */
  by: string
  /** ISO 8601, by the clock of the server that paused. */
  at: string
  reason: string | null
  /** ISO 8601: when a pause with --for ends by itself; null: when resumed. */
  until: string | null
}

/** The keys that pause a run of `job`: the election's, and the job's own. */
export function pausesOf(keys: ElectionKeys, job?: string): string[] {
  return job === undefined ? [keys.pause()] : [keys.pause(), keys.pause(job)]
}

/** The pause a key holds (one elect did not write still pauses, and says so), or undefined for a missing key. */
export function pauseIn(keys: ElectionKeys, kv: IKeyValue | undefined): Pause | undefined {
  if (!kv) return undefined
  try {
    const {by, at, reason, until} = JSON.parse(kv.value.toString()) as {by?: unknown; at?: unknown; reason?: string | null; until?: string | null}
    const job = kv.key.toString().slice(keys.pauses.length + 1) || undefined
    return {...(job === undefined ? {} : {job}), by: String(by), at: String(at), reason: reason ?? null, until: until ?? null}
  } catch {
    return {by: 'unknown', at: 'unknown', reason: 'a pause key elect did not write', until: null}
  }
}

/** The first pause that stands among `kvs`, as read for pausesOf()'s keys. */
export function firstPause(keys: ElectionKeys, kvs: Array<IKeyValue | undefined>): Pause | undefined {
  return kvs.map((kv) => pauseIn(keys, kv)).find(Boolean)
}

/** Compares for a transaction that must not succeed while `job` is paused. */
export function notPaused(keys: ElectionKeys, job?: string): ICompare[] {
  return pausesOf(keys, job).map((key) => ({key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}))
}

/** Reads of the pauses of `job`, for the same transaction's failure branch. */
export function pauseReads(keys: ElectionKeys, job?: string): IRequestOp[] {
  return pausesOf(keys, job).map((key) => ({request_range: {key: Buffer.from(key)}}))
}

/**
 * Pauses the election or `job` until resumed or, with `forMs`, until a lease of that TTL ends. A pause
 * that stood is replaced; its lease, if any, is revoked, so that it cannot end the new one.
 */
export async function pause(client: Etcd3, keys: ElectionKeys, how: {job?: string; by: string; reason?: string; forMs?: number}): Promise<Pause> {
  const at = new Date()
  const lease = how.forMs === undefined ? undefined : await client.leaseClient.leaseGrant({TTL: Math.ceil(how.forMs / 1000), ID: 0})
  const record: Pause = {
    ...(how.job === undefined ? {} : {job: how.job}),
    by: how.by,
    at: at.toISOString(),
    reason: how.reason ?? null,
    until: how.forMs === undefined ? null : new Date(at.getTime() + how.forMs).toISOString(),
  }
  const {job, ...stored} = record
  const put = await client.kv.put({key: Buffer.from(keys.pause(job)), value: Buffer.from(JSON.stringify(stored)), lease: lease?.ID ?? 0, prev_kv: true})
  const previousLease = put.prev_kv?.lease
  if (previousLease && previousLease !== '0' && previousLease !== lease?.ID) await client.leaseClient.leaseRevoke({ID: previousLease}).catch(() => undefined)
  return record
}

/** Ends the pause of the election or `job`; returns the pause that stood, if one did. */
export async function resume(client: Etcd3, keys: ElectionKeys, job?: string): Promise<Pause | undefined> {
  const deleted = await client.kv.deleteRange({key: Buffer.from(keys.pause(job)), prev_kv: true})
  const previous = deleted.prev_kvs[0]
  if (previous?.lease && previous.lease !== '0') await client.leaseClient.leaseRevoke({ID: previous.lease}).catch(() => undefined)
  return pauseIn(keys, previous)
}

/** Every pause that stands in the election: its own first, then its jobs'. */
export async function standingPauses(client: Etcd3, keys: ElectionKeys): Promise<Pause[]> {
  return standingPausesIn(keys, (await client.kv.range(standingPausesRequest(keys))).kvs)
}

/** The read of standingPauses, for a transaction that reads more. */
export function standingPausesRequest(keys: ElectionKeys): IRangeRequest {
  return {key: Buffer.from(keys.pauses), range_end: prefixEnd(keys.pauses), sort_target: 'Key', sort_order: 'Ascend'}
}

/** The pauses that standingPausesRequest found. */
export function standingPausesIn(keys: ElectionKeys, kvs: IKeyValue[]): Pause[] {
  return kvs.flatMap((kv) => pauseIn(keys, kv) ?? [])
}

/** "<name> is paused by ...", or "job <job> is ...": a standing pause, as who-leads and runs show it. */
export function standingPauseLine(name: string, pause: Pause): string {
  return `${pause.job === undefined ? name : `job ${pause.job}`} is ${describePause(pause)}`
}

/** "paused by alice@web-1 at <when> until <when>: <reason>", as every command says it. */
export function describePause(pause: Pause): string {
  return `paused by ${pause.by} at ${pause.at}${pause.until ? ` until ${pause.until}` : ''}${pause.reason ? `: ${pause.reason}` : ''}`
}
