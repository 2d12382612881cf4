import {EventEmitter} from 'node:events'
import type {Etcd3, ICompare, IKeyValue, IRangeRequest, IRequestOp} from 'etcd3'
import {isLeaseGone} from '../etcd/connection.js'
import {leaseHex} from '../lease/leases.js'
import {ElectionKeys, prefixEnd} from './keys.js'
import type {Session} from '../lease/session.js'
import {AbortedError, type KeyRange, type Reading, readUntil} from './watch.js'

export {AbortedError} from './watch.js'

export interface Candidate {
  key: string
  value: string
  leaseId: string
  /** The fencing token: it grows with every new leader. */
  createRevision: number
}

/** A candidate as elect shows it (campaign's events, who-leads --json): its lease in hex, as etcdctl shows leases. */
export function identity(candidate: Candidate): {key: string; lease: string; revision: number} {
  return {key: candidate.key, lease: leaseHex(candidate.leaseId), revision: candidate.createRevision}
}

/**
 * One election: a prefix under which candidates queue. The leader is the candidate key with the
 * lowest create revision; a waiting candidate watches only the key just ahead of it.
 */
export class Election {
  readonly keys: ElectionKeys

  constructor(
    private readonly client: Etcd3,
    prefix: string,
    name: string,
  ) {
    this.keys = new ElectionKeys(prefix, name)
  }

  async leader(): Promise<Candidate | undefined> {
    return (await this.queue(1)).candidates[0]
  }

  /**
   * The leader, and each of `alsoRead` (a pause, a once-per slot's marker), in one read-only
   * transaction: etcd serves it without a raft proposal, so an invocation that skips writes nothing.
   */
  async peek(alsoRead: string[] = []): Promise<{leader?: Candidate; found: Array<IKeyValue | undefined>; clusterId: string}> {
    const response = await this.client.kv.txn({
      compare: [],
      success: [{request_range: queueRequest(this.keys, 1)}, ...alsoRead.map((key) => ({request_range: {key: Buffer.from(key)}}))],
    })
    const [leader, ...found] = response.responses.map((op) => op.response_range.kvs[0])
    return {leader: leader && toCandidate(leader), found, clusterId: String(response.header.cluster_id)}
  }

  /** Candidates in election order (leader first), and the store revision they were read at. */
  async queue(limit = 0): Promise<{candidates: Candidate[]; revision: number}> {
    const response = await this.client.kv.range(queueRequest(this.keys, limit))
    return {candidates: response.kvs.map(toCandidate), revision: Number(response.header.revision)}
  }

  /**
   * Joins the queue with a key on the session's lease; rejoining with the same lease is harmless. The
   * same transaction reads who leads then (see Candidacy.leaderWhenQueued).
   */
  async enqueue(session: Session, value: string): Promise<Candidacy> {
    const key = this.keys.candidate(session.leaseId)
    const leader = {request_range: queueRequest(this.keys, 1)}
    const response = await this.client.kv.txn({
      compare: [{key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}],
      success: [{request_put: {key: Buffer.from(key), value: Buffer.from(value), lease: session.leaseId}}, leader],
      failure: [{request_range: {key: Buffer.from(key)}}, leader],
    })
    const createRevision = response.succeeded
      ? Number(response.header.revision)
      : Number(response.responses[0].response_range.kvs[0].create_revision)
    const candidacy = new Candidacy(this.client, this.keys, {key, value, leaseId: session.leaseId, createRevision})
    const first = response.responses[1].response_range.kvs[0]
    if (first && first.key.toString() !== key) candidacy.leaderWhenQueued = toCandidate(first)
    return candidacy
  }

  /** The candidacy of a candidate that another process holds (a campaign lending its leadership), to run a job under it. */
  candidacyOf(candidate: Candidate): Candidacy {
    return new Candidacy(this.client, this.keys, candidate)
  }

  /** Asks the leader to step down. False when that leader is already gone. */
  async requestResign(leader: Candidate, requester: string): Promise<boolean> {
    try {
      const response = await this.client.kv.txn({
        compare: [stillHeld(leader)],
        // On the leader's own lease, so the request disappears with the leadership it addresses.
        success: [{request_put: {key: Buffer.from(this.keys.resignRequest(leader.leaseId)), value: Buffer.from(requester), lease: leader.leaseId}}],
      })
      return response.succeeded
    } catch (error) {
      if (isLeaseGone(error)) return false
      throw error
    }
  }

  /**
   * Deletes the leader's key without its consent. An elect successor still waits for the old holder's
   * running marker (on its lease) to go, so only candidates that are not elect could overlap with it.
   */
  async removeLeader(leader: Candidate): Promise<void> {
    await this.client.kv.txn({
      compare: [stillHeld(leader)],
      success: [{request_delete_range: {key: Buffer.from(leader.key)}}],
    })
  }

  /** Waits until `candidate` no longer holds its key: deleted, expired, or replaced by a newer one. */
  waitUntilGone(candidate: Candidate, signal?: AbortSignal): Promise<void> {
    return waitUntilKeyGone(this.client, candidate.key, signal, candidate.createRevision)
  }

  /**
   * Calls `onChange` with the current leader now and after every change, until `signal` aborts. The
   * leader changes only when its key goes or changes (create revisions only grow), or, with nobody
   * leading, when a candidate joins: that is all it watches.
   */
  async observe(onChange: (leader: Candidate | undefined) => void, signal: AbortSignal): Promise<void> {
    let reported: Candidate | undefined | null = null
    try {
      await readUntil<never>(this.client, async () => {
        const {candidates, revision} = await this.queue(1)
        const leader = candidates[0]
        if (reported === null || !sameCandidate(leader, reported)) onChange((reported = leader))
        return {revision, watch: [leader ? {key: leader.key} : candidatesRange(this.keys)]}
      }, {signal})
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
    }
  }
}

/**
 * A candidate's place in the queue, from enqueue until its session ends. Once it leads, it watches
 * its own key and its resign-request key: 'lost' (reason) fires when the key is deleted or replaced,
 * 'resign-requested' (requester) when someone asks it to step down.
 */
export class Candidacy extends EventEmitter {
  private stopWatchingLeadership = () => {}
  /** Why leadership ended (lost, or a resign request), remembered for listeners that come later. */
  ended?: string
  /** Who led when this candidate joined the queue, unless itself: it did not lead then, nor can it before that one goes. */
  leaderWhenQueued?: Candidate

  constructor(
    private readonly client: Etcd3,
    readonly keys: ElectionKeys,
    readonly self: Candidate,
  ) {
    super()
  }

  /** The candidate just ahead of this one, if any, and the revision this was read at. */
  async predecessor(): Promise<{candidate?: Candidate; revision: number}> {
    const response = await this.client.kv.range(this.predecessorRequest())
    const kv = response.kvs[0]
    return {candidate: kv && toCandidate(kv), revision: Number(response.header.revision)}
  }

  /** The candidate key just older than this one's. */
  private predecessorRequest(): IRangeRequest {
    return {...queueRequest(this.keys, 1), max_create_revision: this.self.createRevision - 1, sort_order: 'Descend'}
  }

  /** Waits until no candidate is ahead of this one, watching only the one just ahead. */
  async waitUntilLeader(signal?: AbortSignal): Promise<void> {
    await readUntil(this.client, async () => {
      const {candidate, revision} = await this.predecessor()
      return candidate ? {revision, watch: [{key: candidate.key}]} : {revision, outcome: true}
    }, {signal})
  }

  /**
   * Starts watching what tells a leader it no longer leads: its key gone or not its own any more
   * ('lost'), or a resign request ('resign-requested'). Only a read can say so; a watch failure
   * never does, whatever etcd did to the watch.
   */
  async watchLeadership(): Promise<void> {
    const stop = new AbortController()
    this.stopWatchingLeadership = () => stop.abort()
    const key = Buffer.from(this.self.key)
    const resignKey = Buffer.from(this.keys.resignRequest(this.self.leaseId))
    // While it leads, an unreadable etcd is the session's business (its fence), never a reason to stop reading.
    const ended = readUntil<[event: 'lost' | 'resign-requested', detail: string]>(this.client, async () => {
      const response = await this.client.kv.txn({compare: [], success: [{request_range: {key}}, {request_range: {key: resignKey}}]})
      const revision = Number(response.header.revision)
      const [own, resign] = response.responses.map((op) => op.response_range.kvs[0])
      if (!own) return {revision, outcome: ['lost', 'the leader key was deleted']}
      if (own.lease !== this.self.leaseId || Number(own.create_revision) !== this.self.createRevision)
        return {revision, outcome: ['lost', 'the leader key was replaced']}
      if (resign) return {revision, outcome: ['resign-requested', resign.value.toString()]}
      return {revision, watch: [{key: this.self.key}, {key: this.keys.resignRequest(this.self.leaseId)}]}
    }, {signal: stop.signal, retry: () => true})
    ended.then(([event, detail]) => this.end(event, detail), () => undefined)
  }

  /** Holds in a transaction only while this candidate leads: its key is its own and no candidate key is older. */
  leadsCompares(): ICompare[] {
    const candidates = candidatesRange(this.keys)
    // A compare with a range end holds only if it holds for every key in the range (etcd 3.3+).
    const nobodyAhead: ICompare & {range_end?: Buffer} = {
      key: Buffer.from(candidates.key),
      range_end: candidates.rangeEnd,
      target: 'Create',
      result: 'Greater',
      create_revision: this.self.createRevision - 1,
    }
    return [this.ownKeyCompare(), nobodyAhead]
  }

  /** What says why leadsCompares() failed, read in the same transaction: this candidate's key, and the one just ahead. */
  standingReads(): IRequestOp[] {
    return [{request_range: {key: Buffer.from(this.self.key)}}, {request_range: this.predecessorRequest()}]
  }

  /**
   * What standingReads() found at `revision` means: the leadership is lost, or the candidate ahead
   * must go first (watch it); undefined: this candidate leads.
   */
  readStanding(revision: number, [own, ahead]: Array<IKeyValue | undefined>): Reading<'lost'> | undefined {
    if (!own || Number(own.create_revision) !== this.self.createRevision) return {revision, outcome: 'lost'}
    if (ahead) return {revision, watch: [{key: ahead.key.toString()}]}
    return undefined
  }

  /** Holds while this candidate's key is still its own. */
  ownKeyCompare(): ICompare {
    return stillHeld(this.self)
  }

  /** Deletes this candidate's key, in a transaction that ends its leadership along with something else. */
  deleteOwnKey(): IRequestOp {
    return {request_delete_range: {key: Buffer.from(this.self.key)}}
  }

  private end(event: 'lost' | 'resign-requested', detail: string): void {
    this.ended ??= event === 'lost' ? detail : `resign requested by ${detail}`
    this.emit(event, detail)
  }

  async stopWatching(): Promise<void> {
    this.stopWatchingLeadership()
  }
}

/** Waits until `key` is absent or, given `createRevision`, no longer the key created then. */
async function waitUntilKeyGone(client: Etcd3, key: string, signal?: AbortSignal, createRevision?: number): Promise<void> {
  await readUntil(client, async () => {
    const response = await client.kv.range({key: Buffer.from(key)})
    const revision = Number(response.header.revision)
    const kv = response.kvs[0]
    const gone = !kv || (createRevision !== undefined && Number(kv.create_revision) !== createRevision)
    return gone ? {revision, outcome: true} : {revision, watch: [{key}]}
  }, {signal})
}

/** Every candidate key of the election. */
function candidatesRange(keys: ElectionKeys): KeyRange {
  return {key: keys.candidates, rangeEnd: prefixEnd(keys.candidates)}
}

/** Every candidate of the election, oldest (the leader) first. */
function queueRequest(keys: ElectionKeys, limit: number): IRangeRequest {
  const {key, rangeEnd} = candidatesRange(keys)
  return {key: Buffer.from(key), range_end: rangeEnd, sort_target: 'Create', sort_order: 'Ascend', limit}
}

/** Holds in a transaction while `candidate`'s key is the one it created (not deleted, nor made again). */
function stillHeld(candidate: Candidate): ICompare {
  return {key: Buffer.from(candidate.key), target: 'Create', result: 'Equal', create_revision: candidate.createRevision}
}

function sameCandidate(a: Candidate | undefined, b: Candidate | undefined): boolean {
  return a?.key === b?.key && a?.createRevision === b?.createRevision && a?.value === b?.value
}

function toCandidate(kv: IKeyValue): Candidate {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    leaseId: kv.lease,
    createRevision: Number(kv.create_revision),
  }
}
