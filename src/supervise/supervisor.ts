import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {constants} from 'node:os'
import {fileURLToPath} from 'node:url'
import {signalGroup} from './process-group.js'
import type {GuardConfig, GuardReport, GuardRequest} from './protocol.js'

export interface Outcome {
  /** The exit status a shell would give: the command's code, 126/127 if it could not start, 128+n for signal n. */
  status: number
  signal?: NodeJS.Signals
  /** Set when the group was stopped by a stop request or the guard's deadline, not by the command itself. */
  stoppedBecause?: string
}

export interface SupervisorOptions extends GuardConfig {
  env: NodeJS.ProcessEnv
}

/**
 * Runs a command through a guard process (see guard.ts) and reports how it ended. Knows nothing of
 * etcd: its owner extends the deadline while the right to run lasts and calls stop() when it ends.
 */
export class Supervisor {
  readonly exited: Promise<Outcome>
  private stoppedBecause?: string
  private commandPid?: number
  /** Set once the guard reported the group gone: its id may then belong to someone else. */
  private groupGone = false

  private constructor(private readonly guard: ChildProcess) {
    this.exited = new Promise((resolve) => {
      guard.on('message', (report: GuardReport) => {
        if (report.type === 'started') this.commandPid = report.pid
        else if (report.type === 'stopping') this.stoppedBecause ??= report.why
        else if (report.type === 'spawn-failed' || report.type === 'exited') this.groupGone = true
        if (report.type === 'spawn-failed') resolve({status: report.code === 'ENOENT' ? 127 : 126, stoppedBecause: report.message})
        else if (report.type === 'exited') resolve(this.outcome(report.code, report.signal))
      })
      // Writes to a guard that has already finished fail with EPIPE; its 'exit' tells the story.
      guard.on('error', () => undefined)
      // A guard that dies without reporting (killed from outside) must not leave the command unguarded.
      guard.on('exit', () => {
        this.killGroupIfGuardless()
        resolve({status: 1, stoppedBecause: this.stoppedBecause ?? 'the guard process died'})
      })
    })
  }

  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const {env, ...config} = options
    const guard = spawn(process.execPath, [...guardExecArgv(), guardPath(), JSON.stringify(config)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env,
    })
    const supervisor = new Supervisor(guard)
    await new Promise<void>((resolve) => {
      guard.on('message', (report: GuardReport) => report.type !== 'stopping' && resolve())
      guard.on('exit', () => resolve())
    })
    return supervisor
  }

  get pid(): number | undefined {
    return this.commandPid
  }

  extend(deadlineMs: number): void {
    this.send({type: 'extend', deadlineMs})
  }

  forward(signal: NodeJS.Signals): void {
    this.send({type: 'forward', signal})
  }

  stop(signal: NodeJS.Signals, why: string): void {
    this.stoppedBecause ??= why
    this.send({type: 'stop', signal, why})
  }

  private send(request: GuardRequest): void {
    const guardGone = () => {
      if (request.type === 'stop') this.killGroupIfGuardless()
    }
    if (!this.guard.connected) return guardGone()
    this.guard.send(request, (error) => error && guardGone())
  }

  private killGroupIfGuardless(): void {
    if (this.commandPid && !this.groupGone) signalGroup(this.commandPid, 'SIGKILL')
  }

  private outcome(code: number | null, signal: NodeJS.Signals | null): Outcome {
    const stoppedBecause = this.stoppedBecause
    if (signal) return {status: 128 + (constants.signals[signal] ?? 0), signal, stoppedBecause}
    return {status: code ?? 1, stoppedBecause}
  }
}


// Built, the guard is a sibling .js file; from the TypeScript sources (bin/dev.js) it runs through tsx.
function guardPath(): string {
  const built = fileURLToPath(new URL('guard.js', import.meta.url))
  return existsSync(built) ? built : fileURLToPath(new URL('guard.ts', import.meta.url))
}

function guardExecArgv(): string[] {
  return guardPath().endsWith('.ts') ? ['--import', 'tsx'] : []
}
