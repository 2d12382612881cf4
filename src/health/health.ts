// A server's health, by a command of the operator's (--health-cmd): while it fails, the server does
// not queue for leadership, and a leader steps down. The check runs outside any job's process group
// (runShell), bounded by its time-out, so a check that hangs is a check that failed.
import {runShell} from '../supervise/shell.js'
import {after, pause} from '../time/clock.js'
import {formatDuration} from '../time/duration.js'
import {UsageError} from '../contract/exit-codes.js'

export interface HealthOptions {
  command: string
  intervalMs: number
  timeoutMs: number
  /** How many failures in a row make a leader step down. */
  failures: number
}

/**
 * A check that could not be run at all the first time (sh: not found, permission denied): a mistake
 * of the flags, not sickness, and so a usage error by the contract (exit 2).
 */
export class UnrunnableHealthCheck extends UsageError {}

/**
 * Runs the check once: undefined when it passed, else why not, in a few words. The first check of a
 * process (`first`) throws UnrunnableHealthCheck for a command sh cannot find or execute (126, 127).
 */
export async function checkHealth(
  {command, timeoutMs}: Pick<HealthOptions, 'command' | 'timeoutMs'>,
  first = false,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const outcome = await runShell(command, {env: {...process.env, ELECT_HEALTH_CHECK: '1'}, timeoutMs, signal})
  if (outcome.ok) return undefined
  if (first && (outcome.status === 126 || outcome.status === 127 || !outcome.started))
    throw new UnrunnableHealthCheck(`--health-cmd cannot be run: ${outcome.said ?? outcome.failure}`)
  const what = outcome.timedOut
    ? `did not end within --health-timeout ${formatDuration(timeoutMs)}`
    : outcome.started
      ? `failed with ${outcome.failure}`
      : outcome.failure
  return `the health check ${what}${outcome.said ? `: ${outcome.said}` : ''}`
}

/**
 * Follows a server's health with its check every interval, and tells each change (healthy or not,
 * and why) to `onChange`; the first check's result counts as a change. A check still running when
 * its answer is no longer wanted (the wait or the watch stopped) is killed: none outlives elect.
 */
export class HealthWatch {
  private healthy?: boolean
  private lastReason = ''

  constructor(
    private readonly options: HealthOptions,
    private readonly onChange: (healthy: boolean, reason?: string) => void,
  ) {}

  /** Checks now and every interval until a check passes: true then, false if `signal` aborted first. `checked`: after each check. */
  async untilHealthy(signal: AbortSignal, checked?: () => void): Promise<boolean> {
    while (!signal.aborted) {
      const passed = await this.check(signal)
      checked?.()
      if (passed && !signal.aborted) return true
      await pause(this.options.intervalMs, signal)
    }
    return false
  }

  /**
   * Checks every interval from now on; once the check has failed `failures` times in a row, calls
   * `onSick` with the last reason and stops. Returns what stops it sooner.
   */
  watch(onSick: (reason: string) => void): () => void {
    const stopped = new AbortController()
    let failedInARow = 0
    let cancel = () => {}
    const next = () => {
      // Only a first check throws (a command that cannot run), and this is never one.
      cancel = after(
        this.options.intervalMs,
        () =>
          void this.check(stopped.signal).then((passed) => {
            if (stopped.signal.aborted) return
            failedInARow = passed ? 0 : failedInARow + 1
            if (failedInARow >= this.options.failures) onSick(`${this.lastReason} (${failedInARow} times in a row)`)
            else next()
          }),
      )
    }
    next()
    return () => {
      stopped.abort()
      cancel()
    }
  }

  private async check(signal: AbortSignal): Promise<boolean> {
    const reason = await checkHealth(this.options, this.healthy === undefined, signal)
    if (signal.aborted) return false
    if (reason) this.lastReason = reason
    const healthy = reason === undefined
    if (healthy !== this.healthy) this.onChange(healthy, reason)
    this.healthy = healthy
    return healthy
  }
}
