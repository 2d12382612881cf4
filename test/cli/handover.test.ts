// What a queue of waiters costs etcd at each handover: a waiter watches only the candidate just ahead
// of it, so a holder's end wakes one waiter, never the whole queue. A waiter woken for nothing tries
// the claim (a transaction with writes, a raft proposal even when its compare fails), so a queue that
// all woke at each handover would cost etcd proposals that grow with the square of its length.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import {cleanup, elect, raftIndex, startElect, tempDir, uniqueName, useOwnCluster, waitFor} from '../harness/cli.js'

// An etcd of this file's own: the raft index counts this file's proposals alone.
useOwnCluster()
afterEach(cleanup)

/** The raft proposals of one cascade: a holder, `waiters` queued behind it, each running in turn once it ends. */
async function cascade(waiters: number): Promise<number> {
  const name = uniqueName('cascade')
  const finish = join(tempDir(), 'finish')
  const holder = startElect(['run-if-leader', name, '--value', 'holder', '--', 'sh', '-c', `while [ ! -e '${finish}' ]; do sleep 0.05; done`])
  expect(await waitFor(async () => (await elect(['who-leads', name])).exitCode === 0)).toBe(true)
  const before = raftIndex()
  const queued = Array.from({length: waiters}, (_, place) =>
    startElect(['run-if-leader', name, '--value', `waiter-${place}`, '--wait', 'forever', '--', 'true']),
  )
  expect(await waitFor(async () => (await elect(['who-leads', name, '--candidates'])).stdout.split('\n').length === waiters + 1)).toBe(true)
  writeFileSync(finish, '')
  expect((await holder).exitCode).toBe(0)
  for (const result of await Promise.all(queued)) expect(result.exitCode).toBe(0)
  return raftIndex() - before
}

it('a handover wakes only the next waiter: each waiter in a queue of four costs etcd what one alone does', async () => {
  const one = await cascade(1)
  const two = await cascade(2)
  const four = await cascade(4)
  // Each waiter costs the same proposals (its leases, its key, a claim tried when it queued, the claim
  // that wins, its release): the cost is linear in the queue. Every waiter woken at each handover
  // would add a failed claim for each waiter still queued behind: 3 + 2 + 1 with four, 1 with two.
  // Measured: 11, 19 and 35 (8 a waiter); with every waiter woken, 11, 20 and 41. One proposal of
  // slack for a call retried on a busy machine.
  const perWaiter = two - one
  expect(four - two).toBeGreaterThanOrEqual(2 * perWaiter)
  expect(four - two).toBeLessThanOrEqual(2 * perWaiter + 1)
}, 60_000)
