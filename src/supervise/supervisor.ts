import type {ChildProcess} from 'node:child_process'
import type {Readable, Writable} from 'node:stream'
import {after, uptimeDeadline} from '../time/clock.js'
import {formatDuration} from '../time/duration.js'
import {guardScript} from './guard-script.js'
import {type Job, killJob} from './process-group.js'

// Loaded as a command starts, not with elect: a fire that skips uses none of them, and they cost a
// process some 3 ms to load (src/README.md, "Two start-ups").
const childProcess = () => process.getBuiltinModule('node:child_process')
const readline = () => process.getBuiltinModule('node:readline')
const crypto = () => process.getBuiltinModule('node:crypto')

export interface Outcome {
  /** The exit status a shell would give: the command's code, 126/127 if it could not start, 128+n for signal n. */
  status: number
  /** Set when the group was stopped by a stop request or the guard's deadline, not by the command itself. */
  stoppedBecause?: string
  /** The first stop was the run's own limit (maxRuntimeMs), not a stop request or the guard's deadline. */
  overran?: boolean
}

export interface SupervisorOptions {
  /** What `ps` shows after the guard's name (its owner names the election), so an operator can tell guards apart. */
  label: string
  command: string
  args: string[]
  killSignal: NodeJS.Signals
  killGraceMs: number
  env: NodeJS.ProcessEnv
  /** Once the command has run this long, its job is stopped as on a stop request. */
  maxRuntimeMs?: number
}

/**
 * Runs a command through the guard process (guard.sh) and reports how it ended. Knows nothing of
 * etcd: its owner extends the deadline while the right to run lasts and calls stop() when it ends.
 *
 * The guard is started ahead (prepare()), while its owner still waits for the right to run, so that
 * when the right comes only a line to an already running process stands between it and the command.
 */
export class Supervisor {
  readonly exited: Promise<Outcome>
  private readonly started: Promise<void>
  private stoppedBecause?: string
  private overran = false
  private cancelLimit?: () => void
  /** Marks every process of the command's job (see guard.sh), and names its cgroup. */
  private readonly runId = crypto().randomBytes(16).toString('hex')
  private job?: Job
  /** Set once the guard reported the job gone: its pids may then belong to someone else. */
  private jobGone = false
  private readonly control: Writable

  private constructor(
    private readonly guard: ChildProcess,
    private readonly options: SupervisorOptions,
  ) {
    this.control = guard.stdio[3] as Writable
    // Writes to a guard that has finished fail with EPIPE; its exit tells the story.
    this.control.on('error', () => undefined)
    const words = [options.command, ...options.args].map((word) => `${word}\0`)
    this.control.write(`job ${this.runId}\ncommand ${options.killSignal} ${Math.ceil(options.killGraceMs / 10)} ${words.length}\n${words.join('')}`)
    let started!: () => void
    this.started = new Promise((resolve) => (started = resolve))
    this.exited = new Promise((resolve) => {
      readline()
        .createInterface({input: guard.stdio[4] as Readable})
        .on('line', (line) => {
          const [report, ...rest] = line.split(' ')
          if (report === 'started') {
            this.job = {pid: Number(rest[0]), runId: this.runId, cgroup: rest[1] === '-' ? undefined : rest[1]}
            started()
          } else if (report === 'stopping') {
            this.stoppedBecause ??= rest.join(' ')
          } else if (report === 'spawn-failed') {
            this.jobGone = true
            started()
            resolve({status: rest[0] === 'ENOENT' ? 127 : 126})
          } else if (report === 'exited') {
            this.jobGone = true
            this.cancelLimit?.()
            resolve({status: Number(rest[0]), stoppedBecause: this.stoppedBecause, ...(this.overran ? {overran: true} : {})})
          }
        })
      // A guard that dies without reporting (killed from outside) must not leave the command unguarded.
      const died = () => {
        this.cancelLimit?.()
        started()
        this.killJobIfGuardless()
        resolve({status: 1, stoppedBecause: this.stoppedBecause ?? 'the guard process died'})
      }
      // A guard killed by a signal is judged at once: its watcher may still hold the report pipe open.
      // One that exited did so after its last report, which Node may hand over after the exit event
      // (more often with other children about, such as a hook): it is judged once its pipes are
      // closed, when every line it wrote has been read, or a run that succeeded would count as lost.
      guard.on('exit', (_code, signal) => signal && died())
      guard.on('close', died)
    })
  }

  /** Starts the guard, which runs nothing until start(); cancel() ends it if start() never comes. */
  static prepare(options: SupervisorOptions): Supervisor {
    const {BASH_ENV, ...env} = options.env
    // The script and the command travel in the environment and the control pipe, not as arguments: `ps`
    // shows a line that names elect and the election, and an operator's `pgrep -f <command>` finds the
    // command alone, not its guard and watcher as well.
    const guard = childProcess().spawn('bash', ['-c', 'eval "$ELECT_GUARD"', options.label], {
      argv0: 'elect-guard',
      // bash would source BASH_ENV itself; the guard hands it on to the command instead. A session of
      // its own (detached: setsid): whatever kills elect's process group or session, as timeout(1)
      // around elect does with -s KILL, or `kill -9 -- -PGID`, leaves the guard to stop the job.
      stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
      env: {...env, ELECT_GUARD: guardScript, ...(BASH_ENV ? {ELECT_GUARD_BASH_ENV: BASH_ENV} : {})},
      detached: true,
    })
    return new Supervisor(guard, options)
  }

  /**
   * Runs the command with `env` added to the environment it was prepared with, until the monotonic
   * `deadlineMs` (see clock.ts) unless extended; resolves once it runs or could not be started.
   */
  async start(deadlineMs: number, env: Record<string, string>): Promise<void> {
    const records = Object.entries({...env, ELECT_RUN_ID: this.runId}).map(([name, value]) => `${name}=${value}\0`)
    this.control.write(`env ${records.length}\n${records.join('')}run ${uptimeDeadline(deadlineMs)}\n`)
    await this.started
    const {maxRuntimeMs, killSignal} = this.options
    if (maxRuntimeMs !== undefined && !this.jobGone)
      this.cancelLimit = after(maxRuntimeMs, () => {
        this.overran = this.stoppedBecause === undefined
        this.stop(killSignal, `it ran for its limit of ${formatDuration(maxRuntimeMs)}`)
      })
  }

  /** Ends a guard that was prepared but never told to run. */
  cancel(): void {
    this.control.end()
  }

  get pid(): number | undefined {
    return this.job?.pid
  }

  /** The job's cgroup, where the guard could make one (see guard.sh). */
  get cgroup(): string | undefined {
    return this.job?.cgroup
  }

  extend(deadlineMs: number): void {
    this.send(`extend ${uptimeDeadline(deadlineMs)}`)
  }

  forward(signal: NodeJS.Signals): void {
    this.send(`forward ${signal}`)
  }

  stop(signal: NodeJS.Signals, why: string): void {
    this.stoppedBecause ??= why
    if (!this.send(`stop ${signal} ${why.replace(/\n/g, ' ')}`)) this.killJobIfGuardless()
  }

  private send(line: string): boolean {
    if (this.guard.exitCode !== null || this.guard.signalCode !== null || this.control.destroyed) return false
    this.control.write(`${line}\n`)
    return true
  }

  private killJobIfGuardless(): void {
    if (this.job && !this.jobGone) killJob(this.job)
  }
}
