import type {Etcd3, IRangeRequest, IRequestOp} from 'etcd3'
import {type ElectionKeys, prefixEnd} from '../election/keys.js'
import {monotonicMs} from '../time/clock.js'
import {leaseIdOfHex, secondsLeft} from '../lease/leases.js'

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'lost' | 'interrupted' | 'timed-out'

/**
 * What etcd keeps of one run that started a command: written with the claim of the job's running
 * marker, rewritten with its release. Times come from the clock of the server that ran it (the one
 * `value` names): etcd has no clock to offer.
 */
export interface RunRecord {
  /** null: the election's own job (run-if-leader without --job). */
  job: string | null
  value: string
  /** The fencing token of the leadership it ran under. */
  rev: number
  /** The run's own lease (hex): while it exists, a `running` record's run may still be running. */
  lease: string
  startedAt: string
  endedAt: string | null
  durationMs: number | null
  outcome: RunOutcome
  /** The command's exit status, as elect exits with it (75 for a lost run, 125 for one that ran out its time). */
  status: number | null
  /** Why a run was lost, interrupted or stopped at its time limit. */
  reason: string | null
}

/**
 * When each run this process recorded started, on the monotonic clock: a run's duration must not
 * follow the wall clock when NTP steps it, as its timestamps do.
 */
const startedOnMonotonicClock = new WeakMap<RunRecord, number>()

/** The record of a run that starts now. */
export function starting(run: Pick<RunRecord, 'job' | 'value' | 'rev' | 'lease'>): RunRecord {
  const record: RunRecord = {...run, startedAt: new Date().toISOString(), endedAt: null, durationMs: null, outcome: 'running', status: null, reason: null}
  startedOnMonotonicClock.set(record, monotonicMs())
  return record
}

/** The same run, ended now. */
export function ended(record: RunRecord, outcome: Exclude<RunOutcome, 'running'>, status: number, reason?: string): RunRecord {
  const endedAt = new Date()
  const since = startedOnMonotonicClock.get(record)
  const durationMs = since === undefined ? Math.max(0, endedAt.getTime() - Date.parse(record.startedAt)) : Math.round(monotonicMs() - since)
  return {...record, endedAt: endedAt.toISOString(), durationMs, outcome, status, reason: reason ?? null}
}

/**
 * Writes the record of the run on lease `leaseId` (no lease: it outlives the run), and deletes the
 * older ones in `prune`: operations for the transaction that claims or releases the run.
 */
export function writeRecord(keys: ElectionKeys, leaseId: string, job?: string, record?: RunRecord, prune: string[] = []): IRequestOp[] {
  if (!record) return []
  const key = keys.runRecord(leaseId, job)
  return [
    {request_put: {key: Buffer.from(key), value: Buffer.from(JSON.stringify(record))}},
    ...prune.filter((old) => old !== key).map((old) => ({request_delete_range: {key: Buffer.from(old)}})),
  ]
}

/** Writes the record of the run on lease `leaseId` alone, as a release that etcd refused could not. */
export async function writeRunRecord(client: Etcd3, keys: ElectionKeys, leaseId: string, job: string | undefined, record: RunRecord): Promise<void> {
  await client.kv.txn({compare: [], success: writeRecord(keys, leaseId, job, record)})
}

/** Takes back the record of a run that claimed its job but never started its command. */
export function discardRecord(keys: ElectionKeys, leaseId: string, job?: string): IRequestOp {
  return {request_delete_range: {key: Buffer.from(keys.runRecord(leaseId, job))}}
}

/** Records of `job` (null: every job), newest first by when etcd stored their first version. */
async function readRuns(client: Etcd3, keys: ElectionKeys, job: string | null | undefined, limit: number): Promise<RunRecord[]> {
  const response = await client.kv.range({...recordsInOrder(keys, job, 'Descend'), limit})
  return response.kvs.flatMap((kv) => {
    try {
      return [JSON.parse(kv.value.toString()) as RunRecord]
    } catch {
      return [] // not a record elect wrote
    }
  })
}

/**
 * The keys of `job`'s records to delete when one more is written, so that `keep` remain: the oldest.
 */
export async function recordsBeyond(client: Etcd3, keys: ElectionKeys, job: string | undefined, keep: number): Promise<string[]> {
  const response = await client.kv.range({...recordsInOrder(keys, job, 'Ascend'), keys_only: true})
  return response.kvs.slice(0, Math.max(0, response.kvs.length - (keep - 1))).map((kv) => kv.key.toString())
}

function recordsInOrder(keys: ElectionKeys, job: string | null | undefined, order: 'Ascend' | 'Descend'): IRangeRequest {
  const prefix = keys.runRecords(job)
  return {key: Buffer.from(prefix), range_end: prefixEnd(prefix), sort_target: 'Create', sort_order: order}
}

/** A record as read back: a `running` one may be stale (see readRunsWithStaleness). */
export type ReadRun = RunRecord & {stale?: true}

/**
 * The job's records, newest first (at most `limit`, 0 for all). A record still `running` whose run
 * lease is gone is stale: its run ended without recording how (its elect killed, cut off from etcd,
 * or refused the write), and its guard stopped it before that lease could expire.
 */
export async function readRunsWithStaleness(client: Etcd3, keys: ElectionKeys, job: string | null, limit: number): Promise<ReadRun[]> {
  const records = await readRuns(client, keys, job, limit)
  return Promise.all(
    records.map(async (record) => {
      if (record.outcome !== 'running') return record
      return (await secondsLeft(client, leaseIdOfHex(record.lease))) < 0 ? {...record, stale: true as const} : record
    }),
  )
}
