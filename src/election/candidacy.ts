import {EventEmitter} from 'node:events'
import type {Etcd3, ICompare, IKeyValue, IRangeRequest, IRequestOp} from 'etcd3'
import {mayLoseAccess} from '../etcd/connection.js'
import {credentialsRefused} from '../etcd/errors.js'
import {pause} from '../time/clock.js'
import type {ElectionKeys} from './keys.js'
import {type Candidate, candidatesRange, queueRequest, stillHeld} from './candidate.js'
import {PULSE_MS, type Reading, readUntil} from './watch.js'

/** See Candidacy.holdingProof(). */
export interface HoldingProof {
  /** Hold while the candidate holds. */
  compares: ICompare[]
  /** Its own key, and the candidates just ahead of it: read in the failure branch. */
  reads: IRequestOp[]
  /** What `reads` found at `revision` means: lost, or candidates ahead to watch; undefined: it holds. */
  judge(revision: number, found: IKeyValue[][]): Reading<'lost'> | undefined
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
      // A cron job's command often ends within its leadership's first moments: the watch, which only
      // hastens what the keepalives would find, waits for them (see firstWatchAfterMs).
      {signal: stop.signal, retry: (error) => !credentialsRefused(error), firstWatchAfterMs: LEADERSHIP_WATCH_AFTER_MS},
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
   * What a transaction carries to act only while this candidate holds, as etcd's Go package offers
   * Mutex.IsOwner(): the compares, the reads (for the failure branch) that say why they failed, and
   * what those reads mean.
   */
  holdingProof(): HoldingProof {
    return {compares: this.leadsCompares(), reads: this.standingReads(), judge: (revision, found) => this.readStanding(revision, found)}
  }

  /**
   * Holds in a transaction only while this candidate leads: its key is its own and no candidate key is
   * older. With several holders a transaction cannot count the keys ahead: it holds while the key is
   * its own, which proves the candidate holds once a read (readStanding) has seen it hold.
   */
  private leadsCompares(): ICompare[] {
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
  private standingReads(): IRequestOp[] {
    return [{request_range: {key: Buffer.from(this.self.key)}}, {request_range: this.predecessorsRequest()}]
  }

  /**
   * What standingReads() found at `revision` (the keys each read) means: the leadership is lost, or a
   * candidate ahead must go first (watch them); undefined: this candidate holds.
   */
  private readStanding(revision: number, [own, ahead]: IKeyValue[][]): Reading<'lost'> | undefined {
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

/** How long after a leader first reads its key its watch opens: a resign or a deleted key in that time is heard this much later. */
const LEADERSHIP_WATCH_AFTER_MS = 250
