import {EventEmitter} from 'node:events'
import type {Etcd3, ICompare, IKeyValue, IRangeRequest, IRequestOp} from 'etcd3'
import {credentialsRefused, isLeaseGone, mayLoseAccess} from '../etcd/connection.js'
import {pause} from '../time/clock.js'
import {UsageError} from '../contract/exit-codes.js'
import {leaseHex} from '../lease/leases.js'
import {ElectionKeys, prefixEnd} from './keys.js'
import type {Session} from '../lease/session.js'
import {AbortedError, type KeyRange, PULSE_MS, type Reading, readUntil} from './watch.js'

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

/** A candidate that says another number of holders than this one: every candidate of an election must say the same. */
/** A usage error by the contract (exit 2): the candidate's --holders disagrees with the election's. */
export class HoldersMismatch extends UsageError {
  constructor(
    readonly theirs: number,
    readonly ours: number,
    readonly who?: string,
  ) {
    const whose =
      who === undefined
        ? `a candidate campaigns with ${theirs === 1 ? 'one holder (elect without --holders, or etcdctl elect)' : `--holders ${theirs}`}`
        : `${who} campaigns with --holders ${theirs}`
    super(`${whose}, this one with --holders ${ours}: every candidate of the election must say the same`)
  }
}

/**
 * One election: a prefix under which candidates queue. The `holders` oldest candidate keys (by create
 * revision) hold it, the oldest of them leads; a waiting candidate watches only the `holders` keys
 * just ahead of it, since one of them must go before it can hold. A candidate that holds holds until
 * its own key goes: only keys created before it count, and no new key can be older.
 */
export class Election {
  readonly keys: ElectionKeys

  constructor(
    private readonly client: Etcd3,
    prefix: string,
    name: string,
    /** How many hold the election at once (--holders); 1 is etcdctl elect's election. */
    readonly holders = 1,
  ) {
    this.keys = new ElectionKeys(prefix, name)
  }

  async leader(): Promise<Candidate | undefined> {
    return (await this.queue(1)).candidates[0]
  }

  /**
   * The holders (the leader first), and each of `alsoRead` (a pause, a once-per slot's marker), in one
   * read-only transaction: etcd serves it without a raft proposal, so an invocation that skips writes
   * nothing. `full`: every place is held.
   */
  async peek(
    alsoRead: string[] = [],
  ): Promise<{leader?: Candidate; holding: Candidate[]; full: boolean; found: Array<IKeyValue | undefined>; clusterId: string}> {
    const response = await this.client.kv.txn({
      compare: [],
      success: [{request_range: queueRequest(this.keys, this.holders)}, ...alsoRead.map((key) => ({request_range: {key: Buffer.from(key)}}))],
    })
    const [queue, ...rest] = response.responses.map((op) => op.response_range.kvs)
    const holding = queue.map(toCandidate)
    return {leader: holding[0], holding, full: holding.length >= this.holders, found: rest.map((kvs) => kvs[0]), clusterId: String(response.header.cluster_id)}
  }

  /** How many hold the election, as its candidates say (--holders); 1 when none says more. */
  async holdersSaid(): Promise<number> {
    const all = this.keys.holderLimits()
    const [said] = (await this.client.kv.range({key: Buffer.from(all), range_end: prefixEnd(all), limit: 1, keys_only: true})).kvs
    return said ? holdersIn(this.keys, said.key) : 1
  }

  /** Candidates in election order (leader first), and the store revision they were read at. */
  async queue(limit = 0): Promise<{candidates: Candidate[]; revision: number}> {
    const response = await this.client.kv.range(queueRequest(this.keys, limit))
    return {candidates: response.kvs.map(toCandidate), revision: Number(response.header.revision)}
  }

  /**
   * Joins the queue with a key on the session's lease; rejoining with the same lease is harmless. The
   * same transaction reads who holds then (see Candidacy.heldWhenQueued), and proves that no
   * candidate says another number of holders (HoldersMismatch, and this one withdraws).
   */
  async enqueue(session: Session, value: string): Promise<Candidacy> {
    const {client, keys, holders} = this
    const key = this.keys.candidate(session.leaseId)
    const limitKey = keys.holderLimit(holders, session.leaseId)
    const first = {request_range: queueRequest(keys, holders)}
    const otherLimits = otherHolderLimits(keys, holders)
    // Without --holders a candidate says nothing (as etcdctl elect): one with it counts those that do.
    const saysHolders: IRequestOp[] =
      holders === 1
        ? []
        : [
            {request_put: {key: Buffer.from(limitKey), value: Buffer.from(value), lease: session.leaseId}},
            {request_range: {...queueRequest(keys, 0), count_only: true}},
            {request_range: {key: Buffer.from(keys.holderLimits(holders)), range_end: prefixEnd(keys.holderLimits(holders)), count_only: true}},
          ]
    const response = await client.kv.txn({
      compare: [{key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}, ...otherLimits.map(noKeyIn)],
      success: [{request_put: {key: Buffer.from(key), value: Buffer.from(value), lease: session.leaseId}}, ...saysHolders, first],
      failure: [
        {request_range: {key: Buffer.from(key)}},
        ...otherLimits.map((range) => ({request_range: {key: Buffer.from(range.key), range_end: range.rangeEnd, limit: 1}})),
        first,
      ],
    })
    // Success: the put, then (with --holders) its limit key's put and the two counts; failure: its own
    // key, the other limits. The first holders come last in both.
    const ranges = response.responses.map((op) => op.response_range)
    const queue = ranges[ranges.length - 1]
    let createRevision: number
    if (response.succeeded) {
      createRevision = Number(response.header.revision)
      const [candidates, saying] = ranges.slice(2, 4).map((range) => Number(range.count))
      if (holders > 1 && candidates > saying) {
        await client.kv.txn({compare: [], success: [{request_delete_range: {key: Buffer.from(key)}}, {request_delete_range: {key: Buffer.from(limitKey)}}]})
        throw new HoldersMismatch(1, holders)
      }
    } else {
      const other = ranges.slice(1, -1).flatMap((range) => range.kvs)[0]
      if (other) throw new HoldersMismatch(holdersIn(keys, other.key), holders, other.value.toString())
      createRevision = Number(ranges[0].kvs[0].create_revision)
    }
    const candidacy = new Candidacy(client, keys, {key, value, leaseId: session.leaseId, createRevision}, holders)
    const holding = queue.kvs.map(toCandidate)
    if (!holding.some((candidate) => candidate.key === key)) candidacy.heldWhenQueued = holding
    return candidacy
  }

  /** The candidacy of a candidate that another process holds (a campaign lending its leadership), to run a job under it. */
  candidacyOf(candidate: Candidate): Candidacy {
    return new Candidacy(this.client, this.keys, candidate, this.holders)
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
      await readUntil<never>(
        this.client,
        async () => {
          const {candidates, revision} = await this.queue(1)
          const leader = candidates[0]
          if (reported === null || !sameCandidate(leader, reported)) onChange((reported = leader))
          return {revision, watch: [leader ? {key: leader.key} : candidatesRange(this.keys)]}
        },
        {signal},
      )
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
  /** Who held when this candidate joined the queue, unless itself among them: it did not hold then, nor can it before one of them goes. */
  heldWhenQueued?: Candidate[]

  constructor(
    private readonly client: Etcd3,
    readonly keys: ElectionKeys,
    readonly self: Candidate,
    /** How many hold the election at once. */
    readonly holders = 1,
  ) {
    super()
  }

  /** The candidate keys just older than this one's, nearest first: `limit` of them, or fewer. */
  private predecessorsRequest(limit = this.holders): IRangeRequest {
    return {...queueRequest(this.keys, limit), max_create_revision: this.self.createRevision - 1, sort_order: 'Descend'}
  }

  /**
   * Waits until this candidate holds, watching only the candidates just ahead of it. It reads one
   * more: with that many ahead, two must go before it can hold, so it is distant (see Reading).
   */
  async waitUntilLeader(signal?: AbortSignal): Promise<void> {
    await readUntil(
      this.client,
      async () => {
        const response = await this.client.kv.range(this.predecessorsRequest(this.holders + 1))
        const revision = Number(response.header.revision)
        const ahead = response.kvs.slice(0, this.holders)
        if (!this.aheadOfTurn(ahead)) return {revision, outcome: true}
        return {revision, watch: ahead.map((kv) => ({key: kv.key.toString()})), distant: response.kvs.length > this.holders}
      },
      {signal},
    )
  }

  /** Whether the candidates just ahead, as predecessorsRequest() read them, keep this one from holding. */
  private aheadOfTurn(ahead: IKeyValue[]): boolean {
    return ahead.length >= this.holders
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
    // While it leads, an unreadable etcd is the session's business (its fence), never a reason to stop
    // reading; etcd refusing its credentials or its role's rights is a leadership it can no longer prove.
    const ended = readUntil<[event: 'lost' | 'resign-requested', detail: string]>(
      this.client,
      async () => {
        const response = await this.client.kv.txn({compare: [], success: [{request_range: {key}}, {request_range: {key: resignKey}}]})
        const revision = Number(response.header.revision)
        const [own, resign] = response.responses.map((op) => op.response_range.kvs[0])
        if (!own) return {revision, outcome: ['lost', 'the leader key was deleted']}
        if (own.lease !== this.self.leaseId || Number(own.create_revision) !== this.self.createRevision)
          return {revision, outcome: ['lost', 'the leader key was replaced']}
        if (resign) return {revision, outcome: ['resign-requested', resign.value.toString()]}
        return {revision, watch: [{key: this.self.key}, {key: this.keys.resignRequest(this.self.leaseId)}]}
      },
      {signal: stop.signal, retry: (error) => !credentialsRefused(error)},
    )
    ended.then(
      ([event, detail]) => this.end(event, detail),
      (error) => {
        const refused = credentialsRefused(error)
        if (refused) this.end('lost', `it can no longer read its leadership: ${refused}`)
      },
    )
    if (mayLoseAccess(this.client)) void this.checkAccess(stop.signal)
  }

  /**
   * A holder whose role loses its read rights goes on hearing progress answers on its watch, but no
   * events (etcd 3.4 and 3.5): a deleted key would go unseen. Only a call that needs the rights finds
   * out, so where credentials are in use, a holder reads its key every PULSE_MS: serializable and
   * keys only (the member answers from its own store, no quorum round). Only a refusal counts; what
   * it found, perhaps behind, is the watch's and the reads' business.
   */
  private async checkAccess(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await pause(PULSE_MS, signal)
      if (signal.aborted) return
      try {
        await this.client.kv.range({key: Buffer.from(this.self.key), serializable: true, keys_only: true})
      } catch (error) {
        const refused = credentialsRefused(error)
        if (refused && !signal.aborted) return this.end('lost', `it can no longer read its leadership: ${refused}`)
      }
    }
  }

  /**
   * Holds in a transaction only while this candidate leads: its key is its own and no candidate key is
   * older. With several holders a transaction cannot count the keys ahead: it holds while the key is
   * its own, which proves the candidate holds once a read (readStanding) has seen it hold.
   */
  leadsCompares(): ICompare[] {
    if (this.holders > 1) return [this.ownKeyCompare()]
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

  /** What says why leadsCompares() failed, read in the same transaction: this candidate's key, and the ones just ahead. */
  standingReads(): IRequestOp[] {
    return [{request_range: {key: Buffer.from(this.self.key)}}, {request_range: this.predecessorsRequest()}]
  }

  /**
   * What standingReads() found at `revision` (the keys each read) means: the leadership is lost, or a
   * candidate ahead must go first (watch them); undefined: this candidate holds.
   */
  readStanding(revision: number, [own, ahead]: IKeyValue[][]): Reading<'lost'> | undefined {
    if (!own[0] || Number(own[0].create_revision) !== this.self.createRevision) return {revision, outcome: 'lost'}
    if (this.aheadOfTurn(ahead)) return {revision, watch: ahead.map((kv) => ({key: kv.key.toString()}))}
    return undefined
  }

  /** Holds while this candidate's key is still its own. */
  ownKeyCompare(): ICompare {
    return stillHeld(this.self)
  }

  /** Deletes this candidate's key (and what it says of the holders), in a transaction that ends its leadership along with something else. */
  deleteOwnKeys(): IRequestOp[] {
    const limit = this.holders > 1 ? [{request_delete_range: {key: Buffer.from(this.keys.holderLimit(this.holders, this.self.leaseId))}}] : []
    return [{request_delete_range: {key: Buffer.from(this.self.key)}}, ...limit]
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
  await readUntil(
    client,
    async () => {
      const response = await client.kv.range({key: Buffer.from(key)})
      const revision = Number(response.header.revision)
      const kv = response.kvs[0]
      const gone = !kv || (createRevision !== undefined && Number(kv.create_revision) !== createRevision)
      return gone ? {revision, outcome: true} : {revision, watch: [{key}]}
    },
    {signal},
  )
}

/** The N a limit key says (see ElectionKeys.holderLimit). */
function holdersIn(keys: ElectionKeys, limitKey: Buffer): number {
  return Number(limitKey.toString().slice(keys.holderLimits().length).split('/')[0])
}

/** Where no limit key may be for a candidate of `holders`: every other N's. */
function otherHolderLimits(keys: ElectionKeys, holders: number): KeyRange[] {
  const all = keys.holderLimits()
  if (holders === 1) return [{key: all, rangeEnd: prefixEnd(all)}]
  const ours = keys.holderLimits(holders)
  return [
    {key: all, rangeEnd: Buffer.from(ours)},
    {key: prefixEnd(ours).toString(), rangeEnd: prefixEnd(all)},
  ]
}

/** Holds in a transaction while no key is in `range` (a compare with a range end must hold for every key in it). */
function noKeyIn(range: KeyRange): ICompare {
  const compare: ICompare & {range_end?: Buffer} = {
    key: Buffer.from(range.key),
    range_end: range.rangeEnd,
    target: 'Create',
    result: 'Equal',
    create_revision: 0,
  }
  return compare
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
