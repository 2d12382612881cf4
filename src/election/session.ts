import {EventEmitter} from 'node:events'
import type {Etcd3} from 'etcd3'
import {monotonicMs} from '../clock.js'

export interface SessionOptions {
  ttlMs: number
  /** How long before the lease could expire on the server the session must count as lost. */
  fenceLeadMs: number
  callTimeoutMs: number
}

/**
 * A lease and its keepalive. The server can expire the lease no earlier than (when a keepalive was
 * sent) + (the TTL it granted), so that instant, on the monotonic clock, is `validUntil`. The session
 * declares itself lost `fenceLeadMs` before it, without waiting to hear from etcd: a partitioned or
 * slow holder stops on its own before anyone else can be elected.
 *
 * Events: 'renewed' (validUntil), 'lost' (reason). 'lost' fires at most once.
 */
export class Session extends EventEmitter {
  private fenceTimer?: NodeJS.Timeout
  private keepaliveTimer?: NodeJS.Timeout
  private closed = false
  private lostReason?: string

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
    session.armFence()
    session.scheduleKeepalive(session.keepaliveIntervalMs)
    return session
  }

  get lost(): string | undefined {
    return this.lostReason
  }

  /** Keepalives fit three times into the time the fence allows, so two lost round trips are survived. */
  get keepaliveIntervalMs(): number {
    return Math.max(100, (this.grantedTtlMs - this.options.fenceLeadMs) / 3)
  }

  /** Stops the keepalive and, unless the lease is already gone, revokes it (its keys go with it). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.fenceTimer)
    clearTimeout(this.keepaliveTimer)
    try {
      await this.client.leaseClient.leaseRevoke({ID: this.leaseId}, {deadline: Date.now() + this.options.callTimeoutMs})
    } catch (error) {
      // A lease that is already gone is what we wanted; anything else leaves the lease to expire by TTL.
      if (!/not found|LeaseInvalid/i.test(String(error))) throw error
    }
  }

  private markLost(reason: string): void {
    if (this.lostReason || this.closed) return
    this.lostReason = reason
    clearTimeout(this.fenceTimer)
    clearTimeout(this.keepaliveTimer)
    this.emit('lost', reason)
  }

  private armFence(): void {
    clearTimeout(this.fenceTimer)
    const fenceAt = this.validUntil - this.options.fenceLeadMs
    const check = () => {
      const left = fenceAt - monotonicMs()
      if (left > 0) this.fenceTimer = setTimeout(check, left)
      else this.markLost(`no keepalive acknowledged by etcd within ${Math.round((this.grantedTtlMs - this.options.fenceLeadMs) / 100) / 10}s`)
    }
    check()
  }

  private scheduleKeepalive(delayMs: number): void {
    if (this.closed || this.lostReason) return
    this.keepaliveTimer = setTimeout(() => {
      // After a failure, try again soon: the connection pool sends the retry to another member.
      const retryMs = Math.min(100, this.keepaliveIntervalMs / 2)
      this.keepaliveOnce().then(
        (ok) => this.scheduleKeepalive(ok ? this.keepaliveIntervalMs : retryMs),
        () => this.scheduleKeepalive(retryMs),
      )
    }, delayMs)
  }

  /**
   * One keepalive round; true when acknowledged. A round whose first attempt has not been answered
   * soon is hedged with a second attempt on a fresh stream (often to another member): a member that
   * forwards renewals to a dead raft leader would otherwise hold the round until its timeout.
   */
  private async keepaliveOnce(): Promise<boolean> {
    const timeoutMs = Math.min(this.options.callTimeoutMs, this.keepaliveIntervalMs)
    const hedgeAfterMs = Math.min(250, this.keepaliveIntervalMs / 3)
    const ack = await new Promise<{sentAt: number; ttlSeconds: number} | undefined>((resolve) => {
      let pending = 2
      const settle = (result: {sentAt: number; ttlSeconds: number} | undefined) => {
        pending--
        if (result || pending === 0) {
          clearTimeout(hedge)
          resolve(result)
        }
      }
      const hedge = setTimeout(() => this.attempt(timeoutMs - hedgeAfterMs).then(settle), hedgeAfterMs)
      this.attempt(timeoutMs).then(settle)
    })
    if (!ack || this.closed) return false
    if (ack.ttlSeconds <= 0) {
      this.markLost('the lease was revoked or expired in etcd')
      return false
    }
    this.validUntil = Math.max(this.validUntil, ack.sentAt + ack.ttlSeconds * 1000)
    this.armFence()
    this.emit('renewed', this.validUntil)
    return true
  }

  /** A keepalive on a stream of its own, so each try may land on another endpoint. */
  private async attempt(timeoutMs: number): Promise<{sentAt: number; ttlSeconds: number} | undefined> {
    const sentAt = monotonicMs()
    try {
      // The stream's own deadline ends an unanswered attempt; the connection pool then counts that
      // against the member, and passes it over for a while.
      const stream = await this.client.leaseClient.leaseKeepAlive({deadline: Date.now() + timeoutMs})
      return await new Promise((resolve) => {
        stream.on('data', (response) => {
          resolve({sentAt, ttlSeconds: Number(response.TTL)})
          stream.cancel()
        })
        stream.on('error', () => resolve(undefined))
        stream.write({ID: this.leaseId})
      })
    } catch {
      return undefined
    }
  }
}
