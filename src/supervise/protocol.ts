// Messages between elect's supervisor and its guard process, over Node's IPC channel.
// Deadlines are on CLOCK_MONOTONIC in milliseconds, which both processes read alike.

export interface GuardConfig {
  command: string
  args: string[]
  killSignal: NodeJS.Signals
  killGraceMs: number
  deadlineMs: number
}

export type GuardRequest =
  | {type: 'extend'; deadlineMs: number}
  | {type: 'forward'; signal: NodeJS.Signals}
  | {type: 'stop'; signal: NodeJS.Signals; why: string}

export type GuardReport =
  | {type: 'started'; pid: number}
  | {type: 'spawn-failed'; code: string; message: string}
  | {type: 'stopping'; why: string}
  | {type: 'exited'; code: number | null; signal: NodeJS.Signals | null}
