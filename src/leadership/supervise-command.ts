// A won run's command under its guard: started with the leadership's variables, its deadline
// extended by each renewal of the leases it relies on, stopped when either is lost, a resign is
// asked or a second signal comes; and the result its end comes to.
import type {Candidacy} from '../election/candidacy.js'
import {leaseHex} from '../lease/leases.js'
import {ended, type RunRecord} from '../jobs/records.js'
import {jobDeadline, type LeaseView} from '../lease/fence.js'
import {Session} from '../lease/session.js'
import {ExitCode} from '../contract/exit-codes.js'
import {Supervisor} from '../supervise/supervisor.js'
import {RunSignals} from './signals.js'
import type {Log, RunIfLeaderOptions, RunIfLeaderResult} from './run-types.js'

/** The leadership a command runs under, and the lease its running marker holds. */
export interface Won {
  kind: 'won'
  candidacy: Candidacy
  leaderLease: LeaseView
  runLease: Session
  /** The job's running marker (its slot, with several holders) that this run claimed. */
  marker: string
  /** Written with the claim, as a run that started; the release rewrites it with how it ended. */
  record: RunRecord
}

export async function superviseCommand(
  {candidacy, leaderLease, runLease, record}: Won,
  supervisor: Supervisor,
  options: RunIfLeaderOptions,
  log: Log,
  signals: RunSignals,
): Promise<RunIfLeaderResult> {
  const {self} = candidacy
  const leases = [leaderLease, runLease]
  const alreadyLost = leases.find((lease) => lease.lost)?.lost
  if (alreadyLost) return {kind: 'lost-before-start', reason: alreadyLost}
  // The command may run only while both leases are certainly valid.
  const deadline = () => jobDeadline(leases, options.killGraceMs)
  await supervisor.start(deadline(), {
    ELECT_KEY: self.key,
    ELECT_REV: String(self.createRevision),
    ELECT_LEASE: leaseHex(self.leaseId),
    ELECT_VALUE: self.value,
  })
  options.onStarted?.(record)
  // Not before: the claim has just proved the key this candidate's, and the leases' fences bound the
  // run whatever happens to it; the first read of the leadership is not worth a later start.
  await candidacy.watchLeadership()
  let lost: string | undefined
  const lose = (reason: string) => {
    lost ??= reason
    supervisor.stop(options.killSignal, reason)
  }
  const onRenewed = () => supervisor.extend(deadline())
  for (const lease of leases) {
    lease.on('renewed', onRenewed)
    lease.on('lost', lose)
    if (lease.lost) lose(lease.lost)
  }
  candidacy.on('lost', lose)
  candidacy.on('resign-requested', (by: string) => lose(`resign requested by ${by}`))
  if (candidacy.ended) lose(candidacy.ended)

  /** The first signal: passed on; a second kills the group. */
  let interruptedBy: NodeJS.Signals | undefined
  signals.whileRunning((signal) => {
    if (interruptedBy === undefined) {
      interruptedBy = signal
      log(`${signal}: passing it to the command`)
      supervisor.forward(signal)
    } else {
      supervisor.stop('SIGKILL', `second ${signal}`)
    }
  })
  try {
    const outcome = await supervisor.exited
    log(`command ended with status ${outcome.status}${outcome.stoppedBecause ? ` (${outcome.stoppedBecause})` : ''}`)
    if (outcome.overran)
      return {kind: 'ran', status: ExitCode.overran, overran: true, leader: self, record: ended(record, 'timed-out', ExitCode.overran, outcome.stoppedBecause)}
    // The guard stopped the group on its own: its deadline passed before elect heard of any loss.
    lost ??= outcome.stoppedBecause && interruptedBy === undefined ? outcome.stoppedBecause : undefined
    if (lost) return {kind: 'ran', status: ExitCode.lost, lost, leader: self, record: ended(record, 'lost', ExitCode.lost, lost)}
    if (interruptedBy)
      return {kind: 'ran', status: outcome.status, interruptedBy, leader: self, record: ended(record, 'interrupted', outcome.status, interruptedBy)}
    return {kind: 'ran', status: outcome.status, leader: self, record: ended(record, outcome.status === 0 ? 'succeeded' : 'failed', outcome.status)}
  } finally {
    for (const lease of leases) lease.off('renewed', onRenewed)
  }
}
