// readUntil's decisions, without etcd: when it reads again, what it tells the read, when it gives up.
// The watch is a stand-in stream that the test drives; what reaches etcd is tested against etcd
// everywhere else.
import {EventEmitter} from 'node:events'
import type {Etcd3} from 'etcd3'
import {describe, expect, it} from 'vitest'
import {AbortedError, type Reading, readUntil} from '../../src/election/watch.js'

class FakeStream extends EventEmitter {
  requests: Array<{create_request: {key: Buffer; start_revision: number}}> = []
  cancelled = false
  write(request: {create_request: {key: Buffer; start_revision: number}}) {
    this.requests.push(request)
  }
  end() {}
  cancel() {
    this.cancelled = true
  }
  /** What etcd would send: an event at `revision`. */
  event(revision: number) {
    this.emit('data', {header: {revision: String(revision)}, events: [{}]})
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

  it('watches from just after the revision read, and reads again with changed = true on an event', async () => {
    const {client, streams} = clientWithWatches()
    const seen: boolean[] = []
    const result = readUntil<string>(client, async (changed): Promise<Reading<string>> => {
      seen.push(changed)
      return seen.length === 1 ? {revision: 7, watch: [{key: 'a'}]} : {revision: 9, outcome: 'next'}
    }, {recheckMs: 60_000})
    await tick()
    expect(streams[0].requests[0].create_request.start_revision).toBe(8)
    streams[0].event(9)
    expect(await result).toBe('next')
    expect(seen).toEqual([false, true])
    expect(streams[0].cancelled).toBe(true)
  })

  it('reads again after recheckMs with changed = false when the watch hears nothing', async () => {
    const {client} = clientWithWatches()
    const seen: boolean[] = []
    const startedAt = Date.now()
    const result = await readUntil<string>(client, async (changed) => {
      seen.push(changed)
      return seen.length < 3 ? {revision: 1, watch: [{key: 'a'}]} : {revision: 1, outcome: 'late'}
    }, {recheckMs: 50})
    expect(result).toBe('late')
    expect(seen).toEqual([false, false, false])
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(100)
  })

  it('a watch that breaks (cancelled after a compaction, or an error) only makes it read again, on a new watch', async () => {
    const {client, streams} = clientWithWatches()
    let reads = 0
    const result = readUntil<string>(client, async () => (++reads < 3 ? {revision: 4, watch: [{key: 'a'}]} : {revision: 4, outcome: 'read'}), {recheckMs: 60_000})
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
    expect(await readUntil(client, async () => {
      if (++attempts < 3) throw new GRPCUnavailableError('member down')
      return {revision: 1, outcome: attempts}
    })).toBe(3)
    await expect(readUntil(client, async () => {
      throw new Error('permission denied')
    })).rejects.toThrow('permission denied')
  })

  it('ends with AbortedError when its signal aborts, while waiting for a change', async () => {
    const {client, streams} = clientWithWatches()
    const stop = new AbortController()
    const result = readUntil(client, async () => ({revision: 1, watch: [{key: 'a'}]}), {signal: stop.signal, recheckMs: 60_000})
    await tick()
    stop.abort('done waiting')
    await expect(result).rejects.toBeInstanceOf(AbortedError)
    expect(streams[0].cancelled).toBe(true)
  })
})
