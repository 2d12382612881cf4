import type {Etcd3, IWatchResponse} from 'etcd3'
import {cancelStream, openWatchStream, type WatchStream} from '../etcd/connection.js'
import {isTransient} from '../etcd/errors.js'
import {pause} from '../time/clock.js'

/**
 * Watches are hints; etcd's state is the truth. Every wait in the protocol is a read of what it
 * stands for (is my predecessor still there? is my key still mine?), repeated until the read says
 * the wait is over. Between reads, a watch from the read's revision wakes the waiter as soon as
 * something changes. A watch that fails, is cancelled (a compacted start revision) or reconnects only
 * makes it read again, never ends the wait.
 *
 * A watch that stalls without an error (a stream that hears nothing any more) is found out without
 * reading: a watch that has been quiet for PULSE_MS is asked for its progress (a progress request on
 * its own stream, which the member answers from memory once it has sent every event up to its
 * current revision: no quorum round, nothing written). One left unanswered for
 * PROGRESS_TIMEOUT_MS counts as broken, and the waiter reads. So a waiter learns of a change within
 * STALENESS_BOUND_MS even when its watch stalled, at the cost of one small message per PULSE_MS
 * instead of a linearizable read.
 *
 * This deliberately bypasses etcd3's watch manager, which resumes a quiet watch from about its
 * creation revision and, when etcd cancels that resume after a compaction, reports an error on one
 * watcher and never attaches the ones queued after it (lib/watch.js, handleCreatedResponse).
 */
export const PULSE_MS = 1500
/**
 * The pulse of a wait that cannot end before several changes, not all of which it watches (a waiter
 * two or more places from its turn): it must notice that it moved up, not when it leads. Only a watch
 * that has answered once is trusted this long: a new watch's first pulse comes after PULSE_MS, and a
 * wait whose watch went deaf pulses every PULSE_MS from then on, so a stream that never delivers (a
 * proxy or a member that drops watch traffic) costs a distant waiter no more than a near one.
 */
export const DISTANT_PULSE_MS = 10_000
export const PROGRESS_TIMEOUT_MS = 500
export const STALENESS_BOUND_MS = PULSE_MS + PROGRESS_TIMEOUT_MS

export class AbortedError extends Error {}

export interface KeyRange {
  key: string
  /** Exclusive end of a range of keys; without it, `key` alone. */
  rangeEnd?: Buffer
}

/** What one read found: the wait's result when it is over, else the keys whose change is worth a new read. */
export interface Reading<T> {
  revision: number
  outcome?: T
  watch?: KeyRange[]
  /** Several changes must come before the wait can end, and `watch` covers only the next (see DISTANT_PULSE_MS). */
  distant?: boolean
}

export interface WaitOptions {
  signal?: AbortSignal
  /** Whether a failed read is worth repeating; by default only transient failures (etcd unreachable) are. */
  retry?: (error: unknown) => boolean
  /**
   * Opens the first watch this long after the first read (at most PULSE_MS), not at once: a wait that
   * is mostly over by then (a short command's leadership) never opens one, which may cost a process
   * its whole gRPC client (etcd/gateway-first.ts). The watch starts from the read's revision, so a
   * change meanwhile is missed by none; it is heard up to this much later.
   */
  firstWatchAfterMs?: number
}

/**
 * Reads until `read` returns an outcome; throws AbortedError when `signal` aborts. `read` learns
 * whether a watched key changed since its last reading (`changed`), rather than this being the first
 * reading, or one after a broken watch or a failed read.
 */
export async function readUntil<T>(client: Etcd3, read: (changed: boolean) => Promise<Reading<T>>, options: WaitOptions = {}): Promise<T> {
  const {signal, retry = isTransient, firstWatchAfterMs = 0} = options
  let hint: Hint | undefined
  let readFailures = 0
  let watchFailures = 0
  let changed = false
  let deafSeen = false
  try {
    for (;;) {
      throwIfAborted(signal)
      let reading: Reading<T>
      try {
        reading = await read(changed)
        readFailures = 0
      } catch (error) {
        throwIfAborted(signal)
        if (!retry(error)) throw error
        changed = false
        await pause(backoffMs(++readFailures), signal)
        throwIfAborted(signal)
        continue
      }
      if (reading.outcome !== undefined) return reading.outcome
      const ranges = reading.watch ?? []
      deafSeen ||= Boolean(hint?.deaf)
      const pulseMs = reading.distant && !deafSeen ? DISTANT_PULSE_MS : PULSE_MS
      if (!hint || hint.broken || hint.pulseMs !== pulseMs || !sameRanges(hint.ranges, ranges)) {
        // A watch that keeps breaking at once (say, a member that accepts streams and drops them) must
        // not turn this loop into a busy one; one that broke for want of an answer to its pulse did not.
        if (hint?.brokeEarly) {
          await pause(backoffMs(++watchFailures), signal)
          throwIfAborted(signal)
        } else watchFailures = 0
        const openAfterMs = hint ? 0 : Math.min(firstWatchAfterMs, PULSE_MS)
        hint?.close()
        hint = new Hint(client, ranges, reading.revision, pulseMs, openAfterMs)
      }
      changed = await hint.changeAfter(reading.revision, signal)
    }
  } finally {
    hint?.close()
  }
}

/**
 * One watch stream on some key ranges, from a read's revision on: it only says that something may
 * have changed, and it breaks when it fails or goes deaf (an unanswered pulse).
 */
class Hint {
  broken = false
  /** It broke for want of an answer to its pulse. */
  deaf = false
  /** Its first pulse has come: whatever breaks it from then on did not break it at once. */
  private pulsed = false
  private newestRevision = 0
  private wake?: (changed: boolean) => void
  private stream?: WatchStream
  private closed = false
  private timer?: NodeJS.Timeout
  private opening?: NodeJS.Timeout

  constructor(
    client: Etcd3,
    readonly ranges: KeyRange[],
    private readonly readRevision: number,
    readonly pulseMs: number,
    openAfterMs = 0,
  ) {
    this.awaitPulse(Math.min(pulseMs, PULSE_MS))
    if (openAfterMs > 0) this.opening = setTimeout(() => this.open(client), openAfterMs)
    else this.open(client)
  }

  private open(client: Etcd3): void {
    openWatchStream(client).then(
      (stream) => {
        if (this.closed) return cancelStream(stream)
        this.stream = stream
        stream.on('data', (response: IWatchResponse) => this.heard(response))
        stream.on('error', () => this.break())
        stream.on('end', () => this.break())
        // From the read's own revision, not the one after it: etcd answers a progress request only
        // once the store has reached every watch's start revision (etcd 3.5, watchableStore.progressIfSync),
        // so a watch from the future would stay unanswered, and deaf to the pulse, on an idle store.
        for (const range of this.ranges) {
          stream.write({create_request: {key: Buffer.from(range.key), range_end: range.rangeEnd, start_revision: this.readRevision}})
        }
      },
      () => this.break(),
    )
  }

  /** A watch broken before its first pulse was due: it failed at once, rather than going deaf. */
  get brokeEarly(): boolean {
    return this.broken && !this.pulsed
  }

  /** Resolves true when something changed after `revision`; false when the watch broke. */
  changeAfter(revision: number, signal?: AbortSignal): Promise<boolean> {
    if (this.broken) return Promise.resolve(false)
    if (this.newestRevision > revision) return Promise.resolve(true)
    return new Promise((resolve, reject) => {
      const done = (changed: boolean) => {
        signal?.removeEventListener('abort', aborted)
        this.wake = undefined
        resolve(changed)
      }
      const aborted = () => {
        done(false)
        reject(new AbortedError(String(signal?.reason ?? 'aborted')))
      }
      this.wake = done
      if (signal?.aborted) aborted()
      else signal?.addEventListener('abort', aborted, {once: true})
    })
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    clearTimeout(this.opening)
    if (this.stream) cancelStream(this.stream)
  }

  private heard(response: IWatchResponse): void {
    if (response.canceled) return this.break()
    // The read saw what happened at its own revision; only later events are news.
    if (response.events?.some((event) => Number(event.kv.mod_revision) > this.readRevision)) return this.changed(Number(response.header.revision))
    // A progress answer: every event up to the member's revision has been sent, and none was ours.
    if (!response.created && response.events?.length === 0 && response.watch_id === PROGRESS_WATCH_ID) this.awaitPulse(this.pulseMs)
  }

  /** Asks for a sign of life once the watch has been quiet for a pulse; breaks it if none comes. */
  private awaitPulse(quietMs: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.pulsed = true
      if (!this.stream) return this.break()
      this.stream.write({progress_request: {}})
      this.timer = setTimeout(() => {
        this.deaf = true
        this.break()
      }, PROGRESS_TIMEOUT_MS)
    }, quietMs)
  }

  private changed(revision: number): void {
    this.newestRevision = Math.max(this.newestRevision, revision)
    this.wake?.(true)
  }

  private break(): void {
    if (this.closed || this.broken) return
    this.broken = true
    clearTimeout(this.timer)
    this.wake?.(false)
  }
}

/** The watch id of a progress answer (etcd 3.4.23 and 3.5 answer a stream's request once, for all its watches). */
const PROGRESS_WATCH_ID = '-1'

function sameRanges(a: KeyRange[], b: KeyRange[]): boolean {
  return (
    a.length === b.length && a.every((range, index) => range.key === b[index].key && range.rangeEnd?.toString('hex') === b[index].rangeEnd?.toString('hex'))
  )
}

function backoffMs(failures: number): number {
  return Math.min(1000, 50 * 2 ** Math.min(failures - 1, 5))
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(String(signal.reason ?? 'aborted'))
}
