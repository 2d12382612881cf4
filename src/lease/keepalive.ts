// A lease's keepalives: the long-lived stream a session renews on, and the attempts on streams of
// their own that a round that waits too long adds. Each answer is credited to the send it answers.
import type {Etcd3} from 'etcd3'
import {monotonicMs} from '../time/clock.js'
import {cancelStream} from '../etcd/connection.js'

/** How many keepalive attempts of one round may be waiting at once: one per member of a large cluster. */
export const MAX_ATTEMPTS = 5

export interface Ack {
  sentAt: number
  ttlSeconds: number
}

export interface KeepaliveAttempt {
  readonly answer: Promise<Ack | undefined>
  /** The round is over: an attempt still waiting gives up. */
  cancel(): void
}

/**
 * The lease's long-lived keepalive stream, one request at a time so that each answer belongs to the
 * request just before it. A request left unanswered when its round ended breaks the stream for good:
 * its late answer would be credited to a later request, sent later, and overstate the lease's
 * validity. The next round opens a new one; so does one after the stream failed.
 */
export class KeepaliveChannel {
  broken = false
  private readonly stream: Promise<KeepaliveStream | undefined>
  /** The request on the stream now, waiting for its answer (the TTL granted; undefined: none will come). */
  private waiting?: (ttlSeconds: number | undefined) => void

  constructor(
    client: Etcd3,
    private readonly leaseId: string,
    refused: (error: unknown) => void,
  ) {
    this.stream = client.leaseClient.leaseKeepAlive().then(
      (stream) => {
        stream.on('data', (response) => this.waiting?.(Number(response.TTL)))
        stream.on('error', (error) => {
          refused(error)
          this.break()
        })
        stream.on('end', () => this.break())
        if (this.broken) cancelStream(stream)
        return stream
      },
      (error) => {
        refused(error)
        this.break()
        return undefined
      },
    )
  }

  get busy(): boolean {
    return this.waiting !== undefined
  }

  attempt(): KeepaliveAttempt {
    const sentAt = monotonicMs()
    const answer = new Promise<Ack | undefined>((resolve) => {
      this.waiting = (ttlSeconds) => {
        this.waiting = undefined
        resolve(ttlSeconds === undefined ? undefined : {sentAt, ttlSeconds})
      }
    })
    const waiting = this.waiting!
    // A stream that failed before this request could go says no at once.
    void this.stream.then((stream) => (stream && !this.broken ? stream.write({ID: this.leaseId}) : this.waiting === waiting && waiting(undefined)))
    return {answer, cancel: () => this.waiting === waiting && this.break()}
  }

  close(): void {
    this.break()
  }

  private break(): void {
    if (this.broken) return
    this.broken = true
    this.waiting?.(undefined)
    void this.stream.then((stream) => stream && cancelStream(stream))
  }
}

type KeepaliveStream = Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>

/** A keepalive on a stream of its own, so each try may land on another endpoint. */
export class Attempt {
  readonly answer: Promise<Ack | undefined>
  private stream?: {end(): unknown; cancel(): void}
  private cancelled = false

  constructor(
    client: Etcd3,
    leaseId: string,
    timeoutMs: number,
    private readonly refused: (error: unknown) => void,
  ) {
    this.answer = this.send(client, leaseId, timeoutMs, monotonicMs())
  }

  cancel(): void {
    this.cancelled = true
    if (this.stream) cancelStream(this.stream)
  }

  private async send(client: Etcd3, leaseId: string, timeoutMs: number, sentAt: number): Promise<Ack | undefined> {
    try {
      // The stream's own deadline ends an unanswered attempt; the connection pool then counts that
      // against the member, and passes it over for a while.
      const stream = await client.leaseClient.leaseKeepAlive({deadline: Date.now() + timeoutMs})
      this.stream = stream
      if (this.cancelled) return void cancelStream(stream)
      return await new Promise((resolve) => {
        stream.on('data', (response) => {
          resolve({sentAt, ttlSeconds: Number(response.TTL)})
          cancelStream(stream)
        })
        stream.on('error', (error) => {
          this.refused(error)
          resolve(undefined)
        })
        stream.on('end', () => resolve(undefined))
        stream.write({ID: leaseId})
      })
    } catch (error) {
      this.refused(error)
      return undefined
    }
  }
}
