import {EventEmitter} from 'node:events'
import type {Etcd3} from 'etcd3'
import {MAX_TIMER_MS, monotonicMs} from '../time/clock.js'
import {forgetToken} from '../etcd/connection.js'
import {credentialsRefused, isLeaseGone, isTokenRefused} from '../etcd/errors.js'
import {persistently} from '../etcd/retry.js'
import {renewalIntervalMs, validityAfter} from './fence.js'
import {Attempt, KeepaliveChannel, MAX_ATTEMPTS, type Ack, type KeepaliveAttempt} from './keepalive.js'
import {traceValidity} from './validity-trace.js'

export interface SessionOptions {
  ttlMs: number
  /** How long before the lease could expire on the server the session must count as lost. */
  fenceLeadMs: number
  callTimeoutMs: number
}

/**
 * A lease and its keepalive. The server can expire the lease no earlier than (when a keepalive was
 * sent) + (the TTL it granted), so that instant, on the monotonic clock, is `validUntil`. Once fenced
 * (see fence()), the session declares itself lost `fenceLeadMs` before it, without waiting to hear
 * from etcd: a partitioned or slow holder stops on its own before anyone else can be elected. Before
 * that, only etcd saying the lease is gone ends it: a candidate that merely waits has nothing to stop,
 * and must not give up its place because renewals stalled through an etcd failover.
 *
 * Events: 'renewed' (validUntil), 'lost' (reason), 'keepalive' (each turn of the keepalive loop,
 * answered or not). 'lost' fires at most once.
 */
export class Session extends EventEmitter {
  private fenceTimer?: NodeJS.Timeout
  private keepaliveTimer?: NodeJS.Timeout
  private closed = false
  private fenced = false
  /** The largest fence lead of the holders that rely on this lease (see demand()). */
  private demandedLeadMs = 0
  private lostReason?: string
  /** The stream the rounds go on while it answers; a round's hedges open streams of their own. */
  private channel?: KeepaliveChannel

  private constructor(
    private readonly client: Etcd3,
    readonly leaseId: string,
    public validUntil: number,
    readonly grantedTtlMs: number,
    private readonly options: SessionOptions,
  ) {
    super()
  }

  static async grant(client: Etcd3, options: SessionOptions): Promise<Session> {
    const sentAt = monotonicMs()
    const response = await client.leaseClient.leaseGrant({TTL: Math.ceil(options.ttlMs / 1000), ID: 0})
    const grantedMs = Number(response.TTL) * 1000
    const session = new Session(client, String(response.ID), sentAt + grantedMs, grantedMs, options)
    traceValidity(session.leaseId, sentAt, grantedMs)
    session.scheduleKeepalive(session.keepaliveIntervalMs)
    return session
  }

  get lost(): string | undefined {
    return this.lostReason
  }

  /** Keepalives for the narrowest window a holder relies on: its own fence's, or a lent one's. */
  get keepaliveIntervalMs(): number {
    return renewalIntervalMs(this.grantedTtlMs, Math.max(this.options.fenceLeadMs, this.demandedLeadMs))
  }

  /**
   * Another holder relies on this lease, and stops `fenceLeadMs` before it could expire (a job under
   * a campaign's leadership): from now on renew often enough for its window too, and renew at once if
   * what is left of the validity would not cover the next renewal for it.
   */
  async demand(fenceLeadMs: number): Promise<void> {
    this.demandedLeadMs = Math.max(this.demandedLeadMs, fenceLeadMs)
    await this.renewIfShortFor(fenceLeadMs)
    this.scheduleKeepalive(this.keepaliveIntervalMs)
  }

  /**
   * From now on, count the lease as lost `fenceLeadMs` before it could expire. Called when something
   * starts to rely on it (a command about to run, a leadership announced). A validity that has run
   * low while nothing relied on it is renewed first; if it cannot be, the session is lost at once.
   */
  async fence(): Promise<void> {
    if (this.fenced || this.lostReason || this.closed) return
    await this.renewIfShortFor(this.options.fenceLeadMs)
    this.fenced = true
    this.armFence()
  }

  /** Asks etcd now whether the lease still exists (a keepalive round); one that is gone is lost from then on. */
  async confirm(): Promise<void> {
    if (!this.lostReason && !this.closed) await this.keepaliveOnce()
  }

  /** Renews now if a holder fencing `fenceLeadMs` early would run out before the next scheduled renewal. */
  private async renewIfShortFor(fenceLeadMs: number): Promise<void> {
    if (this.validUntil - fenceLeadMs - monotonicMs() < this.keepaliveIntervalMs) await this.keepaliveOnce()
  }

  /**
   * Stops the keepalive and, unless the lease is already gone, revokes it (its keys go with it), trying
   * again for up to `withinMs` while etcd is unreachable; with no time left, it expires by itself.
   */
  async close(withinMs = this.options.callTimeoutMs): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.fenceTimer)
    clearTimeout(this.keepaliveTimer)
    this.channel?.close()
    if (withinMs <= 0) return
    try {
      const {callTimeoutMs} = this.options
      await persistently(() => this.client.leaseClient.leaseRevoke({ID: this.leaseId}, {deadline: Date.now() + Math.min(callTimeoutMs, withinMs)}), withinMs)
    } catch (error) {
      // A lease that is already gone is what we wanted; anything else leaves the lease to expire by TTL.
      if (!isLeaseGone(error)) throw error
    }
  }

  /**
   * A keepalive stream failed: one refused for its token logs in afresh on the next (etcd forgets a
   * user's tokens when its password changes, and on a restart); one whose login is refused can never
   * renew again, and says why at once instead of when the fence runs out.
   */
  private refused(error: unknown): void {
    if (isTokenRefused(error)) return forgetToken(this.client)
    const refused = credentialsRefused(error)
    if (refused) this.markLost(`keepalives refused: ${refused}`)
  }

  private markLost(reason: string): void {
    if (this.lostReason || this.closed) return
    this.lostReason = reason
    clearTimeout(this.fenceTimer)
    clearTimeout(this.keepaliveTimer)
    this.channel?.close()
    this.emit('lost', reason)
  }

  private armFence(): void {
    clearTimeout(this.fenceTimer)
    if (!this.fenced || this.lostReason || this.closed) return
    const fenceAt = this.validUntil - this.options.fenceLeadMs
    const check = () => {
      const left = fenceAt - monotonicMs()
      if (left > 0) this.fenceTimer = setTimeout(check, Math.min(left, MAX_TIMER_MS))
      else this.markLost(`no keepalive acknowledged by etcd within ${Math.round((this.grantedTtlMs - this.options.fenceLeadMs) / 100) / 10}s`)
    }
    check()
  }

  /** (Re)sets the one keepalive timer: rounds that overlap (see demand()) never make two chains. */
  private scheduleKeepalive(delayMs: number): void {
    clearTimeout(this.keepaliveTimer)
    if (this.closed || this.lostReason) return
    this.keepaliveTimer = setTimeout(
      () => {
        this.emit('keepalive')
        // After a failure, try again soon: the connection pool sends the retry to another member.
        const retryMs = Math.min(100, this.keepaliveIntervalMs / 2)
        this.keepaliveOnce().then(
          (ok) => this.scheduleKeepalive(ok ? this.keepaliveIntervalMs : retryMs),
          () => this.scheduleKeepalive(retryMs),
        )
      },
      Math.min(delayMs, MAX_TIMER_MS),
    )
  }

  /**
   * One keepalive round; true when acknowledged. Its first attempt goes on the lease's long-lived
   * stream, as Go's sessions send theirs (one stream, not one per round, for etcd to set up). While
   * no answer has come, another attempt on a fresh stream (usually to another member) starts every
   * `hedgeAfterMs`, and none is given up early: during a raft failover a member holds a renewal until
   * a new leader can answer it, so the earliest answer comes from an attempt that was left waiting,
   * not from one that timed out and was sent again.
   */
  private async keepaliveOnce(): Promise<boolean> {
    const hedgeAfterMs = Math.min(250, this.keepaliveIntervalMs / 3)
    const attempts: KeepaliveAttempt[] = []
    const ack = await new Promise<Ack | undefined>((resolve) => {
      let settled = false
      let failed = 0
      let hedge: NodeJS.Timeout | undefined
      const finish = (result: Ack | undefined) => {
        if (settled) return
        settled = true
        clearTimeout(hedge)
        resolve(result)
      }
      const launch = () => {
        if (settled) return
        // The long-lived stream carries one request at a time: a round beside another (fence() during
        // a scheduled one) starts on a stream of its own.
        const refused = (error: unknown) => this.refused(error)
        if (attempts.length === 0 && (!this.channel || this.channel.broken)) this.channel = new KeepaliveChannel(this.client, this.leaseId, refused)
        const attempt =
          attempts.length === 0 && !this.channel!.busy ? this.channel!.attempt() : new Attempt(this.client, this.leaseId, this.options.callTimeoutMs, refused)
        attempts.push(attempt)
        // An attempt's answer never rejects: a failed attempt answers undefined.
        void attempt.answer.then((result) => {
          if (result) return finish(result)
          if (++failed === MAX_ATTEMPTS) return finish(undefined)
          if (attempts.length < MAX_ATTEMPTS) {
            // A member that refused is cooling now, so the next attempt goes elsewhere: no need to wait.
            clearTimeout(hedge)
            launch()
          }
        })
        if (attempts.length < MAX_ATTEMPTS) hedge = setTimeout(launch, hedgeAfterMs)
      }
      launch()
    })
    for (const attempt of attempts) attempt.cancel()
    if (!ack || this.closed) return false
    if (ack.ttlSeconds <= 0) {
      this.markLost('the lease was revoked or expired in etcd')
      return false
    }
    this.validUntil = validityAfter(this.validUntil, ack.sentAt, ack.ttlSeconds * 1000)
    traceValidity(this.leaseId, ack.sentAt, ack.ttlSeconds * 1000)
    this.armFence()
    this.emit('renewed', this.validUntil)
    return true
  }
}
