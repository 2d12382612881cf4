// A job's running marker: the key that says a run of the job is under way, on the run's own lease.
// A run claims it in the same transaction that proves its candidate leads (Candidacy's proof), and
// releases it, with the leadership unless borrowed, only once its command's whole job is dead; a
// successor elect waits for both, so deleting a leader's key from outside never lets two runs overlap.
import type {Etcd3, IKeyValue, IRequestOp, ITxnResponse} from 'etcd3'
import type {Candidacy} from '../election/election.js'
import {type ElectionKeys, prefixEnd} from '../election/keys.js'
import {type Reading, readUntil} from '../election/watch.js'
import type {Session} from '../lease/session.js'
import {discardRecord, type RunRecord, writeRecord} from './records.js'
import {notPaused, pauseReads, pausesOf} from './pause.js'

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
  /** The run's record as of now (the claim), written with the claim, and the older records it replaces. */
  record?: () => RunRecord
  prune?: string[]
}

/** What claimRunning found: the job is ours to run, another run of it holds it, it is paused, or the leadership is gone. */
export type Claim = 'claimed' | 'busy' | 'paused' | 'lost'

/** The jobs whose commands run now, by their running markers. */
export async function runningJobs(client: Etcd3, keys: ElectionKeys): Promise<RunningJob[]> {
  const prefix = keys.runningJobs
  const response = await client.kv.range({key: Buffer.from(prefix), range_end: prefixEnd(prefix)})
  return response.kvs.flatMap((kv) => {
    try {
      const {value, since, revision} = JSON.parse(kv.value.toString())
      const job = kv.key.toString().slice(prefix.length + 1) || undefined
      return [{job, value, since, revision}]
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
 * guard never outlives. Without `wait`, a marker held by another run means 'busy'.
 *
 * The claim's transaction proves all of it: the candidacy's proof that it leads, no marker, and no
 * pause of the job (a pause is 'paused', with or without `wait`: a run skips it). It is
 * tried at once and whenever a key this waits on changes (most often: the candidate ahead is gone),
 * so a handover costs the successor one round trip; the periodic rechecks only read, so a waiting
 * queue proposes nothing.
 */
export async function claimRunning(client: Etcd3, candidacy: Candidacy, runSession: Session, options: ClaimOptions): Promise<Claim> {
  const marker = Buffer.from(candidacy.keys.running(options.job))
  const {self} = candidacy
  // What decides the claim, read alone or when the claim fails: the marker, the candidacy's standing, the pauses.
  const situation: IRequestOp[] = [{request_range: {key: marker}}, ...candidacy.standingReads(), ...pauseReads(candidacy.keys, options.job)]
  const attempt = () => {
    const runningSince = {value: self.value, since: new Date().toISOString(), revision: self.createRevision}
    return client.kv.txn({
      compare: [{key: marker, target: 'Create', result: 'Equal', create_revision: 0}, ...candidacy.leadsCompares(), ...notPaused(candidacy.keys, options.job)],
      success: [
        {request_put: {key: marker, value: Buffer.from(JSON.stringify(runningSince)), lease: runSession.leaseId}},
        ...writeRecord(candidacy.keys, runSession.leaseId, options.job, options.record?.(), options.prune),
      ],
      failure: situation,
    })
  }
  const decide = (revision: number, found: Array<IKeyValue | undefined>) => claimReading(candidacy, runSession.leaseId, options, revision, found)
  const found = (response: ITxnResponse) => response.responses.map((op) => op.response_range.kvs[0])
  let first = true
  return readUntil<Claim>(
    client,
    async (changed) => {
      if (!first && !changed) {
        const read = await client.kv.txn({compare: [], success: situation})
        const reading = decide(Number(read.header.revision), found(read))
        if (reading) return reading
      }
      first = false
      // Nothing stands in the way, as far as anyone knows: claim (a failed claim says why it failed).
      const claim = await attempt()
      const revision = Number(claim.header.revision)
      if (claim.succeeded) return {revision, outcome: 'claimed'}
      const reading = decide(revision, found(claim))
      if (!reading) throw new Error('etcd refused the claim of the running marker, and nothing that it read says why')
      return reading
    },
    {signal: options.signal},
  )
}

/**
 * What the claim's situation (the marker, the candidacy's standing reads, the job's pauses), read at
 * `revision`, means for a run on lease `runLeaseId`; undefined: nothing stands in its way.
 */
export function claimReading(
  candidacy: Candidacy,
  runLeaseId: string,
  options: {job?: string; wait: boolean},
  revision: number,
  [holder, ...rest]: Array<IKeyValue | undefined>,
): Reading<Claim> | undefined {
  const pauses = rest.splice(rest.length - pausesOf(candidacy.keys, options.job).length)
  const standing = candidacy.readStanding(revision, rest)
  if (standing?.outcome === 'lost') return standing
  // A waiter too: a pause skips the runs that fired before it and still wait, not only later fires.
  if (pauses.some(Boolean)) return {revision, outcome: 'paused'}
  if (standing) return standing
  // A claim whose answer was lost, tried again.
  if (holder?.lease === runLeaseId) return {revision, outcome: 'claimed'}
  if (holder) return options.wait ? {revision, watch: [{key: candidacy.keys.running(options.job)}]} : {revision, outcome: 'busy'}
  return undefined
}

/**
 * Ends a run that claimed `job` on `runSession`'s lease: deletes its running marker and, with
 * `ownLeadership`, the candidacy's key, in one transaction, so that a successor waiting for either
 * hears of both at once. Deletes nothing unless both are still this run's.
 */
export async function release(
  client: Etcd3,
  candidacy: Candidacy,
  runSession: Session,
  options: {job?: string; ownLeadership: boolean; record?: RunRecord | 'discard'},
): Promise<void> {
  const {keys} = candidacy
  const marker = Buffer.from(keys.running(options.job))
  // The run's record is rewritten whether or not the rest still is this run's to delete; a run
  // that claimed the job but never started its command takes its record back.
  const record =
    options.record === 'discard' ? [discardRecord(keys, runSession.leaseId, options.job)] : writeRecord(keys, runSession.leaseId, options.job, options.record)
  await client.kv.txn({
    compare: [{key: marker, target: 'Lease', result: 'Equal', lease: runSession.leaseId}, ...(options.ownLeadership ? [candidacy.ownKeyCompare()] : [])],
    success: [{request_delete_range: {key: marker}}, ...(options.ownLeadership ? [candidacy.deleteOwnKey()] : []), ...record],
    failure: record,
  })
}
