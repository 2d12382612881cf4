// A short command line that elect runs for itself (a hook, a health check): `sh -c` in a process
// group of its own, outside any job's, killed with whatever it started once its time is up.
import {after} from '../time/clock.js'
import {signalGroup} from './process-group.js'

export interface ShellOutcome {
  /** It ended with status 0. */
  ok: boolean
  /** False when sh itself could not be started (then `failure` says why). */
  started: boolean
  /** What went wrong, for a line of elect's: "status 22", "signal SIGSEGV", "no end within ...", "could not run: ...". */
  failure?: string
  timedOut: boolean
  /** Its exit status, when it ended by itself. */
  status?: number
  /** Its last line on stderr, if any (at most 200 characters). */
  said?: string
}

/** Runs `command`; `signal` kills it (its group) as its time-out would, when its answer is no longer wanted. */
export function runShell(command: string, options: {env: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number; signal?: AbortSignal}): Promise<ShellOutcome> {
  return new Promise((resolve) => {
    // A group of its own: the time-out ends what it started too, and a signal to elect's group
    // (Ctrl-C) reaches the job through elect, not this command.
    // Loaded here, not with elect, as in supervisor.ts.
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn('sh', ['-c', command], {detached: true, stdio: ['pipe', 'ignore', 'pipe'], env: options.env})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
    child.stdin.on('error', () => undefined) // a command that does not read its stdin
    child.stdin.end(options.stdin ?? '')
    let timedOut = false
    const kill = () => child.pid !== undefined && child.exitCode === null && signalGroup(child.pid, 'SIGKILL')
    const cancelTimer = after(options.timeoutMs, () => {
      timedOut = true
      kill()
    })
    options.signal?.addEventListener('abort', kill, {once: true})
    if (options.signal?.aborted) kill()
    const cancel = () => {
      cancelTimer()
      options.signal?.removeEventListener('abort', kill)
    }
    const said = () => stderr.trim().split('\n').at(-1)?.slice(0, 200) || undefined
    child.on('error', (error) => {
      cancel()
      resolve({ok: false, started: false, failure: `could not run: ${error.message}`, timedOut: false})
    })
    child.on('close', (status, signal) => {
      cancel()
      if (timedOut) resolve({ok: false, started: true, failure: 'no end in time', timedOut, said: said()})
      else if (status !== 0)
        resolve({ok: false, started: true, failure: signal ? `signal ${signal}` : `status ${status}`, timedOut, status: status ?? undefined, said: said()})
      else resolve({ok: true, started: true, timedOut})
    })
  })
}
