// A run's hooks: commands that tell someone else (a monitoring service, a chat) how a run went. They
// run outside the job (a process group of their own, started by elect, not by the job's guard), each
// bounded by its time-out, and a failure is a line on stderr: never the run's exit status.
import {runShell} from '../supervise/shell.js'
import {formatDuration} from '../time/duration.js'

export type HookEvent = 'start' | 'success' | 'failure' | 'skip'

export type HookCommands = Partial<Record<HookEvent, string>>

/** What a hook is told: JSON on its stdin, and each field in an ELECT_* variable. */
export type HookPayload = Record<string, string | number | null>

/**
 * startedAt is ELECT_STARTED_AT. The record's `lease` is the run's own, which the command's ELECT_LEASE
 * (the leadership's) is not: ELECT_RUN_LEASE.
 */
function envName(field: string): string {
  return field === 'lease' ? 'ELECT_RUN_LEASE' : `ELECT_${field.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`
}

/** Runs `command` with `sh -c`; resolves with a line to say if it failed or ran out of time. */
export async function runHook(event: HookEvent, command: string, payload: HookPayload, timeoutMs: number): Promise<string | undefined> {
  const flag = `--on-${event}`
  const env: NodeJS.ProcessEnv = {...process.env, ELECT_HOOK: event}
  for (const [field, value] of Object.entries(payload)) env[envName(field)] = value === null ? '' : String(value)
  const outcome = await runShell(command, {env, stdin: `${JSON.stringify(payload)}\n`, timeoutMs})
  if (outcome.ok) return undefined
  if (outcome.timedOut) return `${flag} did not end within --hook-timeout ${formatDuration(timeoutMs)}; it was killed`
  return `${flag} ${outcome.started ? `failed with ${outcome.failure}` : outcome.failure}${outcome.said ? `: ${outcome.said}` : ''}`
}

/**
 * The hooks of one run: start when the command starts, without delaying it; the end (success, failure)
 * or a skip once the run has released, after the start hook has ended, so that a monitor hears them in
 * order.
 */
export class RunHooks {
  private startHook?: Promise<void>

  constructor(
    private readonly commands: HookCommands,
    private readonly timeoutMs: number,
    private readonly say: (line: string) => void,
  ) {}

  started(payload: HookPayload): void {
    this.startHook = this.fire('start', payload)
  }

  async ended(event: Exclude<HookEvent, 'start'>, payload: HookPayload): Promise<void> {
    await this.startHook
    await this.fire(event, payload)
  }

  private async fire(event: HookEvent, payload: HookPayload): Promise<void> {
    const command = this.commands[event]
    if (command === undefined) return
    const failure = await runHook(event, command, payload, this.timeoutMs)
    if (failure) this.say(failure)
  }
}
