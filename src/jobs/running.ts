// A job's running marker: the key that says a run of the job is under way, on the run's own lease.
// A run claims it in the same transaction that proves its candidate leads (Candidacy's proof), and
// releases it, with the leadership unless borrowed, only once its command's whole job is dead; a
// successor elect waits for both, so deleting a leader's key from outside never lets two runs overlap.
import type {Etcd3, IKeyValue, ITxnResponse} from 'etcd3'
import type {Candidacy} from '../election/candidacy.js'
import {type ElectionKeys, prefixEnd} from '../election/keys.js'
import {type Reading, readUntil} from '../election/watch.js'
import type {Session} from '../lease/session.js'
import {isOutOfSpace, isTransient} from '../etcd/errors.js'
import {discardRecord, type RunRecord, writeRecord} from './records.js'
import {notPaused, pauseReads} from './pause.js'
import {TxnOps} from '../etcd/txn-ops.js'

export interface RunningJob {
  /** undefined: the election's own job (run-if-leader without --job). */
  job?: string
  value: string
  /** ISO 8601, by the clock of the server that runs it. */
  since: string
  /** The fencing token of the leadership it runs under. */
  revision: number
}

export interface ClaimOptions {
  job?: string
  wait: boolean
  signal?: AbortSignal
  /** The run's record as of now, written with each claim tried (and given back with the claim that took). */
  startRecord?: () => RunRecord
  /** The older records the claim deletes as it writes this run's. */
  prune?: string[]
}

/**
 * What claimRunning found: the job is ours to run (under this marker, with the record the claim
 * wrote), another run of it holds it, it is paused, or the leadership is gone.
 */
export type Claim = {claimed: string; record?: RunRecord} | 'busy' | 'paused' | 'lost'

/** The jobs whose commands run now, by their running markers. */
export async function runningJobs(client: Etcd3, keys: ElectionKeys): Promise<RunningJob[]> {
  const prefix = keys.runningJobs
  const response = await client.kv.range({key: Buffer.from(prefix), range_end: prefixEnd(prefix)})
  return response.kvs.flatMap((kv) => {
    try {
      const {value, since, revision} = JSON.parse(kv.value.toString()) as {value: string; since: string; revision: number}
      return [{job: keys.jobOfRunning(kv.key.toString()), value, since, revision}]
    } catch {
      return []
    }
  })
}

/**
 * Waits, unless `wait` is false, until `candidacy` leads and no other run of `job` can be running,
 * then marks this run as running, on `runSession`'s lease. That lease is not the leader's, so
 * revoking the leader's lease or deleting its key (both end the leadership) leaves the marker until
 * the run has stopped its command and released, or until the run lease expires, which the run's
 * guard never outlives. Without `wait`, a marker held by another run means 'busy'. With several
 * holders a job has as many markers (slots), and a run claims a free one.
 *
 * The claim's transaction proves all of it: the candidacy's proof that it leads, the marker free,
 * and no pause of the job (a pause is 'paused', with or without `wait`: a run skips it). With one
 * holder it is tried at once and whenever a key this waits on changes (most often: the candidate
 * ahead is gone), so a handover costs the successor one round trip; with several, each try follows
 * a read that saw this candidate hold and a slot free. A read after a broken or deaf watch only
 * reads, so a waiting queue proposes nothing.
 */
export async function claimRunning(client: Etcd3, candidacy: Candidacy, runSession: Session, options: ClaimOptions): Promise<Claim> {
  const {self, keys, holders} = candidacy
  const slots = keys.runningSlots(options.job)
  // What decides the claim, read alone or when the claim fails: the markers, the candidacy's standing, the pauses.
  const proof = candidacy.holdingProof()
  const situation = new TxnOps({
    markers: [{request_range: {key: Buffer.from(slots.key), range_end: slots.rangeEnd}}],
    standing: proof.reads,
    pauses: pauseReads(keys, options.job),
  })
  // The record the last claim tried wrote: a claim whose answer was lost, found again, wrote it.
  let written: RunRecord | undefined
  const attempt = (slot: number) => {
    written = options.startRecord?.()
    const marker = Buffer.from(keys.running(options.job, slot))
    const runningSince = {value: self.value, since: new Date().toISOString(), revision: self.createRevision}
    return client.kv.txn({
      compare: [{key: marker, target: 'Create', result: 'Equal', create_revision: 0}, ...proof.compares, ...notPaused(keys, options.job)],
      success: [
        {request_put: {key: marker, value: Buffer.from(JSON.stringify(runningSince)), lease: runSession.leaseId}},
        ...writeRecord(keys, runSession.leaseId, options.job, written, options.prune),
      ],
      failure: situation.ops,
    })
  }
  const decide = (response: ITxnResponse) =>
    claimReading(candidacy, runSession.leaseId, options, Number(response.header.revision), situation.found(response.responses))
  let first = true
  const claim = await readUntil<Claim>(
    client,
    async (changed) => {
      // One holder: claim at once (the claim's compares prove it leads). Several: only after a read saw it hold.
      let revision = 0
      const read = async () => {
        const response = await client.kv.txn({compare: [], success: situation.ops})
        revision = Number(response.header.revision)
        return decide(response)
      }
      let reading: ReturnType<typeof decide> = holders === 1 && (first || changed) ? {slot: 0} : await read()
      first = false
      // Nothing stands in the way, as far as anyone knows: claim (a failed claim says why it failed,
      // and may show another slot free; there are at most `holders` to try).
      for (let tries = 0; 'slot' in reading && tries <= holders; tries++) {
        const claim = await attempt(reading.slot)
        revision = Number(claim.header.revision)
        if (claim.succeeded) return {revision, outcome: {claimed: keys.running(options.job, reading.slot)}}
        reading = decide(claim)
        if ('slot' in reading && holders === 1) throw new Error('etcd refused the claim of the running marker, and nothing that it read says why')
      }
      return 'slot' in reading ? {revision, watch: [slots]} : reading
    },
    // A full etcd (NOSPACE) refuses the claim's write until an operator frees space: a run that may
    // wait goes on waiting, and claims once etcd takes writes again.
    {signal: options.signal, retry: (error) => isTransient(error) || (options.wait && isOutOfSpace(error))},
  )
  return typeof claim === 'object' ? {...claim, record: written} : claim
}

/** What the claim's transaction read, by name: the job's markers, the candidacy's standing, the job's pauses. */
export interface ClaimSituation {
  markers: IKeyValue[][]
  standing: IKeyValue[][]
  pauses: IKeyValue[][]
}

/**
 * What the claim's situation (the job's markers, the candidacy's standing reads, the job's pauses:
 * the keys each read found), read at `revision`, means for a run on lease `runLeaseId`; a slot: the
 * marker this run may claim, nothing else standing in its way.
 */
export function claimReading(
  candidacy: Candidacy,
  runLeaseId: string,
  options: {job?: string; wait: boolean},
  revision: number,
  found: ClaimSituation,
): Reading<Claim> | {slot: number} {
  const [held] = found.markers
  const {pauses} = found
  const standing = candidacy.holdingProof().judge(revision, found.standing)
  if (standing?.outcome === 'lost') return standing
  // A waiter too: a pause skips the runs that fired before it and still wait, not only later fires.
  if (pauses.some((kvs) => kvs.length > 0)) return {revision, outcome: 'paused'}
  if (standing) return standing
  // A claim whose answer was lost, tried again.
  const ours = held.find((kv) => kv.lease === runLeaseId)
  if (ours) return {revision, outcome: {claimed: ours.key.toString()}}
  const taken = new Set(held.map((kv) => kv.key.toString()))
  const free = Array.from({length: candidacy.holders}, (_, slot) => slot).find((slot) => !taken.has(candidacy.keys.running(options.job, slot)))
  if (free !== undefined && held.length < candidacy.holders) return {slot: free}
  return options.wait ? {revision, watch: [candidacy.keys.runningSlots(options.job)]} : {revision, outcome: 'busy'}
}

/**
 * Ends a run that claimed `marker` on `runSession`'s lease: deletes the marker and, with
 * `ownLeadership`, the candidacy's key, in one transaction, so that a successor waiting for either
 * hears of both at once. Deletes nothing unless both are still this run's.
 */
export async function release(
  client: Etcd3,
  candidacy: Candidacy,
  runSession: Session,
  options: {job?: string; marker: string; ownLeadership: boolean; record?: RunRecord | 'discard'},
): Promise<void> {
  const {keys} = candidacy
  const marker = Buffer.from(options.marker)
  // The run's record is rewritten whether or not the rest still is this run's to delete; a run
  // that claimed the job but never started its command takes its record back.
  const record =
    options.record === 'discard' ? [discardRecord(keys, runSession.leaseId, options.job)] : writeRecord(keys, runSession.leaseId, options.job, options.record)
  await client.kv.txn({
    compare: [{key: marker, target: 'Lease', result: 'Equal', lease: runSession.leaseId}, ...(options.ownLeadership ? [candidacy.ownKeyCompare()] : [])],
    success: [{request_delete_range: {key: marker}}, ...(options.ownLeadership ? candidacy.deleteOwnKeys() : []), ...record],
    failure: record,
  })
}
