import type {Etcd3, ICompare, IKeyValue, IRequestOp, IResponseOp} from 'etcd3'
import {TxnOps} from '../etcd/txn-ops.js'
import {isLeaseGone} from '../etcd/errors.js'
import {UsageError} from '../contract/exit-codes.js'
import {ElectionKeys, prefixEnd} from './keys.js'
import type {Session} from '../lease/session.js'
import {type Candidate, candidatesRange, queueRequest, sameCandidate, stillHeld, toCandidate} from './candidate.js'
import {Candidacy} from './candidacy.js'
import {AbortedError, type KeyRange, readUntil} from './watch.js'

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
  async peek<N extends string = never>(
    alsoRead = {} as Record<N, string[]>,
  ): Promise<{leader?: Candidate; holding: Candidate[]; full: boolean; found: Record<N, Array<IKeyValue | undefined>>; clusterId: string}> {
    const reads = new TxnOps<N | 'queue'>({
      queue: [{request_range: queueRequest(this.keys, this.holders)}],
      ...Object.fromEntries(Object.entries<string[]>(alsoRead).map(([name, keys]) => [name, keys.map((key) => ({request_range: {key: Buffer.from(key)}}))])),
    } as Record<N | 'queue', IRequestOp[]>)
    const response = await this.client.kv.txn({compare: [], success: reads.ops})
    const {queue, ...rest} = reads.found(response.responses)
    const holding = queue[0].map(toCandidate)
    const found = Object.fromEntries(Object.entries<IKeyValue[][]>(rest).map(([name, kvs]) => [name, kvs.map((each) => each[0])])) as Record<
      N,
      Array<IKeyValue | undefined>
    >
    return {leader: holding[0], holding, full: holding.length >= this.holders, found, clusterId: String(response.header.cluster_id)}
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
    const says = holders > 1
    const queued = new TxnOps({
      put: [{request_put: {key: Buffer.from(key), value: Buffer.from(value), lease: session.leaseId}}],
      limitPut: says ? [{request_put: {key: Buffer.from(limitKey), value: Buffer.from(value), lease: session.leaseId}}] : [],
      candidates: says ? [{request_range: {...queueRequest(keys, 0), count_only: true}}] : [],
      saying: says ? [{request_range: {key: Buffer.from(keys.holderLimits(holders)), range_end: prefixEnd(keys.holderLimits(holders)), count_only: true}}] : [],
      first: [first],
    })
    const refused = new TxnOps({
      own: [{request_range: {key: Buffer.from(key)}}],
      otherLimits: otherLimits.map((range) => ({request_range: {key: Buffer.from(range.key), range_end: range.rangeEnd, limit: 1}})),
      first: [first],
    })
    const response = await client.kv.txn({
      compare: [{key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0}, ...otherLimits.map(noKeyIn)],
      success: queued.ops,
      failure: refused.ops,
    })
    let createRevision: number
    let queue: IKeyValue[]
    if (response.succeeded) {
      const answers = queued.answers(response.responses)
      createRevision = Number(response.header.revision)
      queue = answers.first[0].response_range.kvs
      const count = (answer: IResponseOp[]) => Number(answer[0].response_range.count)
      if (says && count(answers.candidates) > count(answers.saying)) {
        await client.kv.txn({compare: [], success: [{request_delete_range: {key: Buffer.from(key)}}, {request_delete_range: {key: Buffer.from(limitKey)}}]})
        throw new HoldersMismatch(1, holders)
      }
    } else {
      const found = refused.found(response.responses)
      const other = found.otherLimits.flat()[0]
      if (other) throw new HoldersMismatch(holdersIn(keys, other.key), holders, other.value.toString())
      createRevision = Number(found.own[0][0].create_revision)
      queue = found.first[0]
    }
    const candidacy = new Candidacy(client, keys, {key, value, leaseId: session.leaseId, createRevision}, holders)
    const holding = queue.map(toCandidate)
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
