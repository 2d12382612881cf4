import type {Etcd3} from 'etcd3'
import type {Attachment} from '../attach/attachment.js'
import {delay} from '../time/clock.js'
import type {Candidate} from '../election/candidate.js'
import {Election, HoldersMismatch} from '../election/election.js'
import {fleetSpreadMs, placeInSpread, slotMarkers, type SlotStanding, slotStanding} from '../jobs/once-per.js'
import {firstPause, pausesOf} from '../jobs/pause.js'
import {checkHealth} from '../health/health.js'
import {onStopSignals} from './signals.js'
import type {Log, RunIfLeaderOptions, RunIfLeaderResult, Skip} from './run-types.js'
import {Run} from './run.js'

/**
 * run-if-leader: win the election (or, where a campaign of this election runs on this machine,
 * borrow its leadership), run the command under a guard while the lease is certainly held, and
 * release only after the command's whole job is dead.
 */
export async function runIfLeader(client: Etcd3, options: RunIfLeaderOptions, log: Log, campaign?: Attachment | 'silent'): Promise<RunIfLeaderResult> {
  const election = new Election(client, options.prefix, options.name, options.holders)
  let situation = await readSituation(election, options)
  if ('kind' in situation) return situation
  if (campaign === 'silent') return {kind: 'skipped', because: 'campaign-silent'}
  // A campaign of the same election in another etcd cluster has nothing to lend.
  const lender = campaign?.hello.clusterId === situation.clusterId ? campaign : undefined
  if (campaign && !lender) campaign.close()
  // A campaign holds alone (it has no --holders): lending that to a run of several holders would break both.
  if (lender && options.holders !== 1) throw new HoldersMismatch(1, options.holders, `the campaign of ${lender.hello.value} on this machine`)
  if (!lender && situation.full && options.waitMs === 0) return {kind: 'skipped', because: 'another-leads', holding: situation.holding}
  if (!lender && options.slot && options.waitMs === 0 && options.spread) {
    // Every server of a fleet fires the slot at once, and each one that campaigns costs etcd a lease, a
    // key and their removal: they campaign in the order of their places in the spread, so that the
    // rest find the first leading or the slot done, with a read.
    const placeMs = placeInSpread(options.value, fleetSpreadMs(options.slot))
    log(`nobody leads ${options.name}: waiting ${Math.round(placeMs)}ms, this server's place in the fleet's spread, then looking again`)
    await delay(placeMs)
    situation = await readSituation(election, options)
    if ('kind' in situation) return situation
    if (situation.full) return {kind: 'skipped', because: 'another-leads', holding: situation.holding}
  }
  if (options.health) {
    // Only a run that could lead pays for the check; a signal meanwhile ends it (it runs in a group of its own).
    const interrupted = new AbortController()
    const unlisten = onStopSignals((signal) => interrupted.abort(signal))
    const sickness = await checkHealth(options.health, true, interrupted.signal).finally(unlisten)
    if (interrupted.signal.aborted) return {kind: 'interrupted', signal: interrupted.signal.reason as NodeJS.Signals}
    if (sickness) return {kind: 'skipped', because: 'unhealthy', reason: sickness}
  }
  return new Run(client, election, options, log, lender, situation.slot).perform(situation.holding)
}

/** One read of what decides a fire before it campaigns: a pause or a done slot skips it; else who holds. */
async function readSituation(
  election: Election,
  options: RunIfLeaderOptions,
): Promise<Skip | {holding: Candidate[]; full: boolean; clusterId: string; slot?: SlotStanding}> {
  const {holding, full, found, clusterId} = await election.peek({
    pauses: pausesOf(election.keys, options.job),
    slot: options.slot ? slotMarkers(election.keys, options.slot, options.job) : [],
  })
  const pause = firstPause(election.keys, found.pauses)
  if (pause) return {kind: 'skipped', because: 'paused', pause}
  const slot = options.slot && slotStanding(options.slot, found.slot)
  if (slot && slot.done) return {kind: 'skipped', because: 'slot-done'}
  return {holding, full, clusterId, slot: slot || undefined}
}
