// elect resign: ask a leader to step down, and wait until its key is gone.
import {after} from '../time/clock.js'
import {AbortedError} from '../election/watch.js'
import type {Election} from '../election/election.js'
import {ElectError, ExitCode} from '../contract/exit-codes.js'

/** Who stepped down, and whether its key had to be deleted for it. */
export interface Resignation {
  name: string
  value: string
  key: string
  revision: number
  forced: boolean
}

/**
 * Asks the leader (the one whose value is `wanted`, or any) to step down and waits for its key to go;
 * with `force`, deletes the key of a leader that does not within the time-out. `by` says who asked.
 */
export async function resignLeader(
  election: Election,
  name: string,
  {wanted, force, timeoutMs, by}: {wanted?: string; force: boolean; timeoutMs: number; by: string},
): Promise<Resignation> {
  // With --holders, any of the holders may be asked; without --value, the oldest (the leader).
  const {candidates: holding} = await election.queue(await election.holdersSaid())
  const leader = wanted === undefined ? holding[0] : holding.find((holder) => holder.value === wanted)
  if (!leader) {
    const who = holding.length === 0 ? 'nobody leads it' : `${holding.map((holder) => holder.value).join(', ')} ${holding.length === 1 ? 'leads' : 'hold'} it`
    throw new ElectError(`nothing to resign: ${wanted ?? 'anyone'} does not lead ${name} (${who})`, ExitCode.nothingToResign)
  }
  const requested = await election.requestResign(leader, by)
  let forced = false
  if (requested) {
    const timeout = new AbortController()
    const cancelTimeout = after(timeoutMs, () => timeout.abort('timeout'))
    try {
      await election.waitUntilGone(leader, timeout.signal)
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      if (!force) throw new ElectError(`${leader.value} did not step down from ${name} within --timeout`, ExitCode.timedOut)
      await election.removeLeader(leader)
      forced = true
    } finally {
      cancelTimeout()
    }
  }
  return {name, value: leader.value, key: leader.key, revision: leader.createRevision, forced}
}
