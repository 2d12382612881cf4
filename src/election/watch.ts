import type {Etcd3, IWatchResponse} from 'etcd3'
import {cancelStream, isTransient, openWatchStream, type WatchStream} from '../etcd/connection.js'

/**
 * Watches are hints; etcd's state is the truth. Every wait in the protocol is a read of what it
 * stands for (is my predecessor still there? is my key still mine?), repeated until the read says
 * the wait is over. Between reads, a watch from the read's revision wakes the waiter as soon as
 * something changes. A watch that fails, is cancelled (a compacted start revision) or reconnects only
 * makes it read again, never ends the wait; and a read every RECHECK_MS bounds how stale a waiter can
 * be when an event is lost or a stream stalls without an error.
 *
 * This deliberately bypasses etcd3's watch manager, which resumes a quiet watch from about its
 * creation revision and, when etcd cancels that resume after a compaction, reports an error on one
 * watcher and never attaches the ones queued after it (lib/watch.js, handleCreatedResponse).
 */
export const RECHECK_MS = 1000

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
}

export interface WaitOptions {
  signal?: AbortSignal
  recheckMs?: number
  /** Whether a failed read is worth repeating; by default only transient failures (etcd unreachable) are. */
  retry?: (error: unknown) => boolean
}

/**
 * Reads until `read` returns an outcome; throws AbortedError when `signal` aborts. `read` learns
 * whether a watched key changed since its last reading (`changed`), rather than this being the first
 * reading, a periodic recheck, or one after a broken watch or a failed read.
 */
export async function readUntil<T>(client: Etcd3, read: (changed: boolean) => Promise<Reading<T>>, options: WaitOptions = {}): Promise<T> {
  const {signal, recheckMs = RECHECK_MS, retry = isTransient} = options
  let hint: Hint | undefined
  let failures = 0
  let changed = false
  try {
    for (;;) {
      throwIfAborted(signal)
      let reading: Reading<T>
      try {
        reading = await read(changed)
      } catch (error) {
        throwIfAborted(signal)
        if (!retry(error)) throw error
        changed = false
        await pause(backoffMs(++failures), signal)
        continue
      }
      if (reading.outcome !== undefined) return reading.outcome
      const ranges = reading.watch ?? []
      if (!hint || hint.broken || !sameRanges(hint.ranges, ranges)) {
        // A watch that keeps breaking at once (say, a member that accepts streams and drops them) must
        // not turn this loop into a busy one.
        if (hint?.broken) await pause(backoffMs(++failures), signal)
        hint?.close()
        hint = new Hint(client, ranges, reading.revision + 1)
      } else {
        failures = 0
      }
      changed = await hint.changeAfter(reading.revision, recheckMs, signal)
    }
  } finally {
    hint?.close()
  }
}

/** One watch stream on some key ranges, from a revision on: it only says that something may have changed. */
class Hint {
  broken = false
  private newestRevision = 0
  private wake?: (changed: boolean) => void
  private stream?: WatchStream
  private closed = false

  constructor(
    client: Etcd3,
    readonly ranges: KeyRange[],
    fromRevision: number,
  ) {
    openWatchStream(client).then(
      (stream) => {
        if (this.closed) return cancelStream(stream)
        this.stream = stream
        stream.on('data', (response: IWatchResponse) => {
          if (response.canceled) this.break()
          else if (response.events?.length) this.changed(Number(response.header.revision))
        })
        stream.on('error', () => this.break())
        stream.on('end', () => this.break())
        for (const range of ranges) {
          stream.write({create_request: {key: Buffer.from(range.key), range_end: range.rangeEnd, start_revision: fromRevision}})
        }
      },
      () => this.break(),
    )
  }

  /** Resolves true when something changed after `revision`; false when the watch broke, or after `timeoutMs`. */
  changeAfter(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.broken) return Promise.resolve(false)
    if (this.newestRevision > revision) return Promise.resolve(true)
    return new Promise((resolve, reject) => {
      const done = (changed: boolean) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', aborted)
        this.wake = undefined
        resolve(changed)
      }
      const aborted = () => {
        done(false)
        reject(new AbortedError(String(signal?.reason ?? 'aborted')))
      }
      const timer = setTimeout(() => done(false), timeoutMs)
      this.wake = done
      if (signal?.aborted) aborted()
      else signal?.addEventListener('abort', aborted, {once: true})
    })
  }

  close(): void {
    this.closed = true
    if (this.stream) cancelStream(this.stream)
  }

  private changed(revision: number): void {
    this.newestRevision = Math.max(this.newestRevision, revision)
    this.wake?.(true)
  }

  private break(): void {
    if (this.closed) return
    this.broken = true
    this.wake?.(false)
  }
}

function sameRanges(a: KeyRange[], b: KeyRange[]): boolean {
  return a.length === b.length && a.every((range, index) => range.key === b[index].key && range.rangeEnd?.toString('hex') === b[index].rangeEnd?.toString('hex'))
}

function backoffMs(failures: number): number {
  return Math.min(1000, 50 * 2 ** Math.min(failures - 1, 5))
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(String(signal.reason ?? 'aborted'))
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      clearTimeout(timer)
      reject(new AbortedError(String(signal?.reason ?? 'aborted')))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted)
      resolve()
    }, ms)
    if (signal?.aborted) aborted()
    else signal?.addEventListener('abort', aborted, {once: true})
  })
}
