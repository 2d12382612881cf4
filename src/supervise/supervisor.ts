import {type ChildProcess, spawn} from 'node:child_process'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import type {Readable, Writable} from 'node:stream'
import {uptimeDeadline} from '../clock.js'
import {signalGroup} from './process-group.js'

export interface Outcome {
  /** The exit status a shell would give: the command's code, 126/127 if it could not start, 128+n for signal n. */
  status: number
  /** Set when the group was stopped by a stop request or the guard's deadline, not by the command itself. */
  stoppedBecause?: string
}

export interface SupervisorOptions {
  command: string
  args: string[]
  killSignal: NodeJS.Signals
  killGraceMs: number
  /** Monotonic milliseconds (see clock.ts) after which the guard stops the command on its own. */
  deadlineMs: number
  env: NodeJS.ProcessEnv
}

const guardScript = fileURLToPath(new URL('guard.sh', import.meta.url))

/**
 * Runs a command through the guard process (guard.sh) and reports how it ended. Knows nothing of
 * etcd: its owner extends the deadline while the right to run lasts and calls stop() when it ends.
 */
export class Supervisor {
  readonly exited: Promise<Outcome>
  private stoppedBecause?: string
  private commandPid?: number
  /** Set once the guard reported the group gone: its id may then belong to someone else. */
  private groupGone = false
  private readonly control: Writable

  private constructor(
    private readonly guard: ChildProcess,
    started: (pid?: number) => void,
  ) {
    this.control = guard.stdio[3] as Writable
    // Writes to a guard that has finished fail with EPIPE; its exit tells the story.
    this.control.on('error', () => undefined)
    this.exited = new Promise((resolve) => {
      createInterface({input: guard.stdio[4] as Readable}).on('line', (line) => {
        const [report, ...rest] = line.split(' ')
        if (report === 'started') {
          this.commandPid = Number(rest[0])
          started(this.commandPid)
        } else if (report === 'stopping') {
          this.stoppedBecause ??= rest.join(' ')
        } else if (report === 'spawn-failed') {
          this.groupGone = true
          started()
          resolve({status: rest[0] === 'ENOENT' ? 127 : 126})
        } else if (report === 'exited') {
          this.groupGone = true
          resolve({status: Number(rest[0]), stoppedBecause: this.stoppedBecause})
        }
      })
      // A guard that dies without reporting (killed from outside) must not leave the command unguarded.
      guard.on('exit', () => {
        started()
        this.killGroupIfGuardless()
        resolve({status: 1, stoppedBecause: this.stoppedBecause ?? 'the guard process died'})
      })
    })
  }

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const {BASH_ENV, ...env} = options.env
    const guard = spawn(
      'bash',
      [guardScript, options.killSignal, String(Math.ceil(options.killGraceMs / 10)), String(uptimeDeadline(options.deadlineMs)), options.command, ...options.args],
      // bash would source BASH_ENV itself; the guard hands it on to the command instead.
      {stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'], env: {...env, ...(BASH_ENV ? {ELECT_GUARD_BASH_ENV: BASH_ENV} : {})}},
    )
    let supervisor!: Supervisor
    await new Promise<number | undefined>((started) => (supervisor = new Supervisor(guard, started)))
    return supervisor
  }

  get pid(): number | undefined {
    return this.commandPid
  }

  extend(deadlineMs: number): void {
    this.send(`extend ${uptimeDeadline(deadlineMs)}`)
  }

  forward(signal: NodeJS.Signals): void {
    this.send(`forward ${signal}`)
  }

  stop(signal: NodeJS.Signals, why: string): void {
    this.stoppedBecause ??= why
    if (!this.send(`stop ${signal} ${why.replace(/\n/g, ' ')}`)) this.killGroupIfGuardless()
  }

  private send(line: string): boolean {
    if (this.guard.exitCode !== null || this.guard.signalCode !== null || this.control.destroyed) return false
    this.control.write(`${line}\n`)
    return true
  }

  private killGroupIfGuardless(): void {
    if (this.commandPid && !this.groupGone) signalGroup(this.commandPid, 'SIGKILL')
  }
}
