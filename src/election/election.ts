import {EventEmitter} from 'node:events'
import type {Etcd3, IKeyValue, IRangeRequest} from 'etcd3'
import {ElectionKeys, leaseHex} from './keys.js'
import type {Session} from './session.js'

export interface Candidate {
  key: string
  value: string
  leaseId: string
  /** The fencing token: it grows with every new leader. */
  createRevision: number
}

export class AbortedError extends Error {}

/** A --once-per slot: the period, and which period of it (floor(local time / period)) this run is in. */
export interface OnceSlot {
  periodMs: number
  label: string
}

export function onceSlot(periodMs: number, nowMs = Date.now()): OnceSlot {
  return {periodMs, label: `${periodMs}/${Math.floor(nowMs / periodMs)}`}
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
   * The leader and whether a once-per slot already ran, in one read-only transaction: etcd serves it
   * without a raft proposal, so an invocation that skips writes nothing.
   */
  async peek(slot?: OnceSlot): Promise<{leader?: Candidate; slotDone: boolean}> {
    const response = await this.client.kv.txn({
      compare: [],
      success: [
        {request_range: candidatesRange(this.keys, 1)},
        ...(slot ? [{request_range: {key: Buffer.from(this.keys.onceMarker(slot.label))}}] : []),
      ],
    })
    const [leader, marker] = response.responses.map((op) => op.response_range.kvs[0])
    return {leader: leader && toCandidate(leader), slotDone: Boolean(marker)}
  }

  /**
   * Marks a once-per slot done, unless it already is; true if this call marked it. The marker has a
   * lease of its own that outlives the slot on any server whose clock is up to a period behind.
   */
  async markSlotDone(slot: OnceSlot, by: string): Promise<boolean> {
    const lease = await this.client.leaseClient.leaseGrant({TTL: Math.ceil((2 * slot.periodMs) / 1000) + 60, ID: 0})
    const key = Buffer.from(this.keys.onceMarker(slot.label))
    const response = await this.client.kv.txn({
      compare: [{key, target: 'Create', result: 'Equal', create_revision: 0}],
      success: [{request_put: {key, value: Buffer.from(by), lease: lease.ID}}],
    })
    if (!response.succeeded) await this.client.leaseClient.leaseRevoke({ID: lease.ID}).catch(() => undefined)
    return response.succeeded
  }

  /** Candidates in election order (leader first), and the store revision they were read at. */
  async queue(limit = 0): Promise<{candidates: Candidate[]; revision: number}> {
    const response = await this.client.kv.range(candidatesRange(this.keys, limit))
    return {candidates: response.kvs.map(toCandidate), revision: Number(response.header.revision)}
  }

  /** Joins the queue with a key on the session's lease; rejoining with the same lease is harmless. */
  async enqueue(session: Session, value: string): Promise<Candidacy> {
    const key = this.keys.candidate(session.leaseId)
    const response = await this.client.kv.txn({
      compare: [{key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}],
      success: [{request_put: {key: Buffer.from(key), value: Buffer.from(value), lease: session.leaseId}}],
      failure: [{request_range: {key: Buffer.from(key)}}],
    })
    const createRevision = response.succeeded
      ? Number(response.header.revision)
      : Number(response.responses[0].response_range.kvs[0].create_revision)
    return new Candidacy(this.client, this.keys, session, {key, value, leaseId: session.leaseId, createRevision})
  }

  /** Asks the leader to step down. False when that leader is already gone. */
  async requestResign(leader: Candidate, requester: string): Promise<boolean> {
    try {
      const response = await this.client.kv.txn({
        compare: [{key: Buffer.from(leader.key), target: 'Create', result: 'Equal', create_revision: leader.createRevision}],
        // On the leader's own lease, so the request disappears with the leadership it addresses.
        success: [{request_put: {key: Buffer.from(this.keys.resignRequest(leader.leaseId)), value: Buffer.from(requester), lease: leader.leaseId}}],
      })
      return response.succeeded
    } catch (error) {
      if (/lease not found|LeaseInvalid/i.test(String(error))) return false
      throw error
    }
  }

  /**
   * Deletes the leader's key without its consent. An elect successor still waits for the old holder's
   * running marker (on its lease) to go, so only candidates that are not elect could overlap with it.
   */
  async removeLeader(leader: Candidate): Promise<void> {
    await this.client.kv.txn({
      compare: [{key: Buffer.from(leader.key), target: 'Create', result: 'Equal', create_revision: leader.createRevision}],
      success: [{request_delete_range: {key: Buffer.from(leader.key)}}],
    })
  }

  waitForDelete(key: string, seenAtRevision: number, signal?: AbortSignal): Promise<void> {
    return waitForDelete(this.client, key, seenAtRevision, signal)
  }

  /** Calls `onChange` with the current leader now and after every change in the queue. */
  async observe(onChange: (leader: Candidate | undefined) => void, signal: AbortSignal): Promise<void> {
    const {candidates, revision} = await this.queue(1)
    let current: Candidate | undefined = candidates[0]
    onChange(current)
    const watcher = await this.client.watch().prefix(this.keys.candidates).startRevision(String(revision + 1)).create()
    let failure: Error | undefined
    let stopObserving = () => {}
    watcher.on('error', (error: Error) => {
      failure = new Error(`the watch on ${this.keys.candidates} failed: ${error.message}`)
      stopObserving()
    })
    watcher.on('data', async () => {
      const leader = await this.leader().catch(() => current)
      if (leader?.key !== current?.key || leader?.createRevision !== current?.createRevision) {
        current = leader
        onChange(leader)
      }
    })
    await new Promise<void>((resolve) => {
      stopObserving = resolve
      if (signal.aborted) resolve()
      signal.addEventListener('abort', () => resolve(), {once: true})
    })
    await watcher.cancel().catch(() => undefined)
    if (failure) throw failure
  }
}

/**
 * A candidate's place in the queue, from enqueue until its session ends. Once it leads, it watches
 * its own key and its resign-request key: 'lost' (reason) fires when the key is deleted or replaced,
 * 'resign-requested' (requester) when someone asks it to step down.
 */
export class Candidacy extends EventEmitter {
  private watchers: Array<{cancel(): Promise<void>}> = []
  /** Why leadership ended (lost, or a resign request), remembered for listeners that come later. */
  ended?: string

  constructor(
    private readonly client: Etcd3,
    private readonly keys: ElectionKeys,
    readonly session: Session,
    readonly self: Candidate,
  ) {
    super()
  }

  /** The candidate just ahead of this one, if any. */
  async predecessor(): Promise<{candidate: Candidate; revision: number} | undefined> {
    const response = await this.client.kv.range({
      ...candidatesRange(this.keys, 1),
      max_create_revision: this.self.createRevision - 1,
      sort_order: 'Descend',
    })
    if (response.kvs.length === 0) return undefined
    return {candidate: toCandidate(response.kvs[0]), revision: Number(response.header.revision)}
  }

  async waitUntilLeader(signal?: AbortSignal): Promise<void> {
    for (let ahead = await this.predecessor(); ahead; ahead = await this.predecessor()) {
      await waitForDelete(this.client, ahead.candidate.key, ahead.revision, signal)
    }
  }

  /** Starts the watches that tell a leader it no longer leads. */
  async watchLeadership(): Promise<void> {
    const from = String(this.self.createRevision + 1)
    const own = await this.client.watch().key(this.self.key).startRevision(from).create()
    // A watch etcd cancels can't tell us of a delete any more: count it as lost, the safe direction.
    own.on('error', (error: Error) => this.end('lost', `the watch on the leader key failed: ${error.message}`))
    own.on('delete', () => this.end('lost', 'the leader key was deleted'))
    own.on('put', (kv: IKeyValue) => {
      if (kv.lease !== this.self.leaseId) this.end('lost', 'the leader key was replaced')
    })
    const resign = await this.client.watch().key(this.keys.resignRequest(this.self.leaseId)).startRevision(from).create()
    resign.on('error', (error: Error) => this.end('lost', `the watch for resign requests failed: ${error.message}`))
    resign.on('put', (kv: IKeyValue) => this.end('resign-requested', kv.value.toString()))
    this.watchers.push(own, resign)
  }

  /**
   * Waits until no other holder's command can be running, then marks this leader's as running, on
   * `runSession`'s lease. That lease is not the candidate's, so revoking the candidate's lease or
   * deleting its key (both end the leadership) leaves the marker until the holder has stopped its
   * command and released, or until the run lease expires, which the holder's guard never outlives.
   */
  async claimRunning(runSession: Session, signal?: AbortSignal): Promise<void> {
    const key = Buffer.from(this.keys.running)
    for (;;) {
      const response = await this.client.kv.txn({
        compare: [{key, target: 'Create', result: 'Equal', create_revision: 0}],
        success: [{request_put: {key, value: Buffer.from(leaseHex(this.self.leaseId)), lease: runSession.leaseId}}],
        failure: [{request_range: {key}}],
      })
      if (response.succeeded) return
      const holder = response.responses[0].response_range.kvs[0]
      if (holder?.lease === runSession.leaseId) return
      await waitForDelete(this.client, this.keys.running, Number(response.header.revision), signal)
    }
  }

  private end(event: 'lost' | 'resign-requested', detail: string): void {
    this.ended ??= event === 'lost' ? detail : `resign requested by ${detail}`
    this.emit(event, detail)
  }

  async stopWatching(): Promise<void> {
    const watchers = this.watchers.splice(0)
    await Promise.all(watchers.map((watcher) => watcher.cancel().catch(() => undefined)))
  }
}

async function waitForDelete(client: Etcd3, key: string, seenAtRevision: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new AbortedError(String(signal.reason ?? 'aborted'))
  const watcher = await client.watch().key(key).startRevision(String(seenAtRevision + 1)).create()
  try {
    await new Promise<void>((resolve, reject) => {
      const aborted = () => reject(new AbortedError(String(signal?.reason ?? 'aborted')))
      watcher.on('delete', () => resolve())
      watcher.on('error', (error: Error) => reject(new Error(`the watch on ${key} failed: ${error.message}`)))
      // An abort while the watch was being created has already fired: look, then listen.
      if (signal?.aborted) aborted()
      signal?.addEventListener('abort', aborted, {once: true})
    })
  } finally {
    await watcher.cancel().catch(() => undefined)
  }
}

/** Every candidate key of the election, oldest (the leader) first. */
function candidatesRange(keys: ElectionKeys, limit: number): IRangeRequest {
  return {key: Buffer.from(keys.candidates), range_end: prefixEnd(keys.candidates), sort_target: 'Create', sort_order: 'Ascend', limit}
}

function toCandidate(kv: IKeyValue): Candidate {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    leaseId: kv.lease,
    createRevision: Number(kv.create_revision),
  }
}

function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}
