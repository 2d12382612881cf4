// What a run-if-leader's result comes to once the run has released: the line its user reads (if
// any), the metrics file, the end or skip hook, and the exit status.
import {constants} from 'node:os'
import {ExitCode} from '../contract/exit-codes.js'
import type {MetricsFile} from '../report/metrics-file.js'
import type {RunHooks} from '../report/hooks.js'
import {describePause} from '../jobs/pause.js'
import type {RunIfLeaderResult, Skip} from '../leadership/run-types.js'
import {formatDuration} from '../time/duration.js'

/** The run as its flags described it. */
export interface Run {
  name: string
  job?: string
  value: string
  command: string
  wait: string
  oncePer?: number
  maxRuntime?: number
  skipExitCode: number
  verbose: boolean
}

export async function presentRunResult(
  result: RunIfLeaderResult,
  run: Run,
  {metrics, hooks, say}: {metrics?: MetricsFile; hooks: RunHooks; say: (line: string) => void},
): Promise<number> {
  if (metrics && (result.kind === 'ran' || result.kind === 'skipped')) {
    try {
      if (result.kind === 'ran') metrics.ran(result.record)
      else metrics.skipped()
    } catch (error) {
      say(`could not write --metrics-file ${metrics.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  }
  const exitCode = rendered(result, run, say)
  // The job's own status stands: only etcd's account of it is missing (runs shows it as not recorded).
  if (result.kind === 'ran' && result.unrecorded) say(`the end of this run was not recorded in etcd: ${result.unrecorded}`)
  // After the release: a hook never holds the leadership, and its failure never changes the exit.
  const {name, job, value} = run
  if (result.kind === 'ran') await hooks.ended(result.record.outcome === 'succeeded' ? 'success' : 'failure', {name, ...result.record})
  if (result.kind === 'skipped')
    await hooks.ended('skip', {name, job: job ?? null, value, outcome: 'skipped', because: result.because, reason: skipReason(result, run)})
  return exitCode
}

/** What a run's result means for its user: a line on stderr where it is worth one, and the exit status. */
function rendered(result: RunIfLeaderResult, how: Run, say: (line: string) => void): number {
  const {name, command} = how
  switch (result.kind) {
    case 'skipped':
      // A campaign that does not answer and a sick server are faults to see; the other skips are the normal case.
      if (how.verbose || process.stderr.isTTY || result.because === 'campaign-silent' || result.because === 'unhealthy')
        say(`skipped: ${skipReason(result, how)}`)
      return how.skipExitCode
    case 'timed-out':
      say(`not elected leader of ${name} within --wait ${how.wait}`)
      return ExitCode.timedOut
    case 'interrupted':
      say(`${result.signal} while waiting to lead ${name}; withdrew`)
      return 128 + constants.signals[result.signal]
    case 'lost-before-start':
      say(`lost the lease while waiting to lead ${name}: ${result.reason}; the command never started`)
      return ExitCode.lost
    case 'ran':
      if (result.lost) say(`lost leadership of ${name}: ${result.lost}; the command was stopped`)
      else if (result.overran) say(`${command} ran for --max-runtime ${formatDuration(how.maxRuntime!)}; it was stopped`)
      else if (result.status === ExitCode.notFound) say(`command not found: ${command}`)
      else if (result.status === ExitCode.notExecutable) say(`cannot execute ${command}: permission denied`)
      return result.status
  }
}

function skipReason(skip: Skip, {name, job, oncePer}: Run): string {
  const what = job === undefined ? name : `job ${job}`
  switch (skip.because) {
    case 'slot-done':
      return `${what} already ran in this --once-per ${formatDuration(oncePer!)} slot`
    case 'job-running':
      return `${what} is still running`
    case 'campaign-silent':
      return `the campaign for ${name} on this machine does not answer`
    case 'another-leads':
      return skip.holding.length > 1
        ? `${skip.holding.map((holder) => holder.value).join(', ')} hold ${name}`
        : `${skip.holding[0]?.value ?? 'another candidate'} leads ${name}`
    case 'paused':
      return skip.pause ? describePause(skip.pause) : `${what} was paused`
    case 'unhealthy':
      return `this server is not healthy: ${skip.reason}`
  }
}
