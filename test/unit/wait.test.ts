// readUntil's decisions, without etcd: when it reads again, what it tells the read, when it gives up.
// The watch is a stand-in stream that the test drives; what reaches etcd is tested against etcd
// everywhere else.
import {EventEmitter} from 'node:events'
import type {Etcd3} from 'etcd3'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {AbortedError, DISTANT_PULSE_MS, PROGRESS_TIMEOUT_MS, PULSE_MS, type Reading, readUntil} from '../../src/election/watch.js'

interface Request {
  create_request?: {key: Buffer; start_revision: number}
  progress_request?: object
}

class FakeStream extends EventEmitter {
  requests: Request[] = []
  cancelled = false
  write(request: Request) {
    this.requests.push(request)
  }
  get progressRequests() {
    return this.requests.filter((request) => request.progress_request).length
  }
  end() {}
  cancel() {
    this.cancelled = true
  }
  /** What etcd would send: an event at `revision`. */
  event(revision: number) {
    this.emit('data', {header: {revision: String(revision)}, watch_id: '0', created: false, events: [{kv: {mod_revision: String(revision)}}]})
  }
  /** What etcd answers to a progress request. */
  progress(revision: number) {
    this.emit('data', {header: {revision: String(revision)}, watch_id: '-1', created: false, canceled: false, events: []})
  }
}

/** A client whose watch streams are FakeStreams, handed out in order. */
function clientWithWatches() {
  const streams: FakeStream[] = []
  const client = {watchClient: {watch: async () => streams[streams.push(new FakeStream()) - 1]}} as unknown as Etcd3
  return {client, streams}
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('readUntil', () => {
  it('returns the first outcome a read finds, opening no watch for it', async () => {
    const {client, streams} = clientWithWatches()
    expect(await readUntil(client, async () => ({revision: 5, outcome: 'done'}))).toBe('done')
    expect(streams).toHaveLength(0)
  })

  it('watches from the revision read, and reads again with changed = true on an event after it', async () => {
    const {client, streams} = clientWithWatches()
    const seen: boolean[] = []
    const result = readUntil<string>(client, async (changed): Promise<Reading<string>> => {
      seen.push(changed)
      return seen.length === 1 ? {revision: 7, watch: [{key: 'a'}]} : {revision: 9, outcome: 'next'}
    })
    await tick()
    expect(streams[0].requests[0].create_request?.start_revision).toBe(7)
    // What the read saw already (the watch starts at its revision) is no news.
    streams[0].event(7)
    await tick()
    expect(seen).toEqual([false])
    streams[0].event(9)
    expect(await result).toBe('next')
    expect(seen).toEqual([false, true])
    expect(streams[0].cancelled).toBe(true)
  })

  describe('with a watch that hears nothing', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('asks it for its progress after a quiet pulse, and keeps waiting without a read while it answers', async () => {
      vi.useFakeTimers()
      const {client, streams} = clientWithWatches()
      const stop = new AbortController()
      let reads = 0
      const waiting = readUntil(client, async () => (reads++, {revision: 3, watch: [{key: 'a'}]}), {signal: stop.signal})
      await vi.advanceTimersByTimeAsync(PULSE_MS - 10)
      expect(streams[0].progressRequests).toBe(0)
      for (let pulse = 1; pulse <= 3; pulse++) {
        await vi.advanceTimersByTimeAsync(20)
        expect(streams[0].progressRequests).toBe(pulse)
        streams[0].progress(3)
        await vi.advanceTimersByTimeAsync(PULSE_MS - 20)
      }
      expect([reads, streams.length]).toEqual([1, 1])
      stop.abort()
      await expect(waiting).rejects.toBeInstanceOf(AbortedError)
    })

    it('reads again, with changed = false and on a new watch, once a progress request goes unanswered', async () => {
      vi.useFakeTimers()
      const {client, streams} = clientWithWatches()
      const seen: boolean[] = []
      const result = readUntil<string>(client, async (changed) => {
        seen.push(changed)
        return seen.length < 3 ? {revision: 1, watch: [{key: 'a'}]} : {revision: 1, outcome: 'read'}
      })
      await vi.advanceTimersByTimeAsync(PULSE_MS + PROGRESS_TIMEOUT_MS - 10)
      expect(seen).toEqual([false])
      await vi.advanceTimersByTimeAsync(20)
      expect(seen).toEqual([false, false])
      // A deaf watch is not one that fails at once: the next one opens without a back-off.
      await vi.advanceTimersByTimeAsync(PULSE_MS + PROGRESS_TIMEOUT_MS + 10)
      expect(await result).toBe('read')
      expect(seen).toEqual([false, false, false])
      expect(streams.map((stream) => [stream.progressRequests, stream.cancelled])).toEqual([
        [1, true],
        [1, true],
      ])
    })

    it('pulses less often while the wait is distant (two or more changes from its end), once its watch has answered', async () => {
      vi.useFakeTimers()
      const {client, streams} = clientWithWatches()
      const stop = new AbortController()
      const waiting = readUntil(client, async () => ({revision: 1, watch: [{key: 'a'}], distant: true}), {signal: stop.signal})
      // A new watch proves itself at the first pulse, as a near one does.
      await vi.advanceTimersByTimeAsync(PULSE_MS + 10)
      expect(streams[0].progressRequests).toBe(1)
      streams[0].progress(1)
      await vi.advanceTimersByTimeAsync(DISTANT_PULSE_MS - 20)
      expect(streams[0].progressRequests).toBe(1)
      await vi.advanceTimersByTimeAsync(20)
      expect(streams[0].progressRequests).toBe(2)
      stop.abort()
      await expect(waiting).rejects.toBeInstanceOf(AbortedError)
    })

    it('keeps the near pulse for a distant wait once one of its watches went deaf', async () => {
      vi.useFakeTimers()
      const {client, streams} = clientWithWatches()
      const stop = new AbortController()
      let reads = 0
      const waiting = readUntil(client, async () => (reads++, {revision: 1, watch: [{key: 'a'}], distant: true}), {signal: stop.signal})
      await vi.advanceTimersByTimeAsync(PULSE_MS + PROGRESS_TIMEOUT_MS + 10)
      expect([reads, streams.length]).toEqual([2, 2])
      // The second watch answers its first pulse, and is still asked every PULSE_MS.
      await vi.advanceTimersByTimeAsync(PULSE_MS)
      streams[1].progress(1)
      await vi.advanceTimersByTimeAsync(PULSE_MS + 10)
      expect(streams[1].progressRequests).toBe(2)
      stop.abort()
      await expect(waiting).rejects.toBeInstanceOf(AbortedError)
    })
  })

  it('a watch that breaks (cancelled after a compaction, or an error) only makes it read again, on a new watch', async () => {
    const {client, streams} = clientWithWatches()
    let reads = 0
    const result = readUntil<string>(client, async () => (++reads < 3 ? {revision: 4, watch: [{key: 'a'}]} : {revision: 4, outcome: 'read'}))
    await tick()
    streams[0].emit('data', {header: {revision: '4'}, canceled: true})
    await new Promise((resolve) => setTimeout(resolve, 80))
    streams[1].emit('error', new Error('stream reset'))
    expect(await result).toBe('read')
    expect(streams.length).toBe(2)
  })

  it('tries a read that failed transiently again, and throws one that failed otherwise', async () => {
    const {client} = clientWithWatches()
    class GRPCUnavailableError extends Error {}
    let attempts = 0
    expect(
      await readUntil(client, async () => {
        if (++attempts < 3) throw new GRPCUnavailableError('member down')
        return {revision: 1, outcome: attempts}
      }),
    ).toBe(3)
    await expect(
      readUntil(client, async () => {
        throw new Error('permission denied')
      }),
    ).rejects.toThrow('permission denied')
  })

  it('ends with AbortedError when its signal aborts, while waiting for a change', async () => {
    const {client, streams} = clientWithWatches()
    const stop = new AbortController()
    const result = readUntil(client, async () => ({revision: 1, watch: [{key: 'a'}]}), {signal: stop.signal})
    await tick()
    stop.abort('done waiting')
    await expect(result).rejects.toBeInstanceOf(AbortedError)
    expect(streams[0].cancelled).toBe(true)
  })
})
