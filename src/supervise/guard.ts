// The guard: a small process between elect and the command. It starts the command in a process
// group of its own and is the only one that signals that group. It kills the group when elect says
// so, when the deadline elect last gave it passes (elect frozen or its keepalives unacknowledged), or
// when elect's IPC channel closes (elect killed). It loads nothing but Node's built-ins, so it starts
// fast and no load of elect's can delay its timer.
import {spawn} from 'node:child_process'
import {groupAlive as groupAliveOf, signalGroup as signalGroupOf} from './process-group.js'
import type {GuardConfig, GuardReport, GuardRequest} from './protocol.js'

const config = JSON.parse(process.argv[2]) as GuardConfig
let deadline = config.deadlineMs
let stopping = false
let deadlineTimer: NodeJS.Timeout | undefined

const report = (message: GuardReport) => {
  if (process.connected) process.send?.(message)
}
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6

// Signals meant for the command reach us too (same terminal process group as elect): elect forwards
// them, so here they must not kill the guard before the group it guards.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => undefined)

const child = spawn(config.command, config.args, {detached: true, stdio: 'inherit'})
const group = () => child.pid as number
const signalGroup = (signal: NodeJS.Signals | 0) => signalGroupOf(group(), signal)
const groupAlive = () => groupAliveOf(group())

function stopGroup(signal: NodeJS.Signals, why: string): void {
  if (stopping) return
  stopping = true
  clearTimeout(deadlineTimer)
  report({type: 'stopping', why})
  signalGroup(signal)
  setTimeout(() => signalGroup('SIGKILL'), config.killGraceMs).unref()
}

function armDeadline(): void {
  clearTimeout(deadlineTimer)
  const left = deadline - monotonicMs()
  if (left <= 0) stopGroup(config.killSignal, 'the leadership deadline passed')
  else deadlineTimer = setTimeout(armDeadline, left)
}

child.on('error', (error: NodeJS.ErrnoException) => {
  report({type: 'spawn-failed', code: error.code ?? 'UNKNOWN', message: error.message})
  process.exit(0)
})

child.on('spawn', () => {
  report({type: 'started', pid: group()})
  armDeadline()
})

// The command's leader process ended; what it left behind in its group goes too, so that nothing
// started under this leadership outlives it. Only then is the exit reported, and only then may elect
// release the lease.
child.on('exit', async (code, signal) => {
  clearTimeout(deadlineTimer)
  if (groupAlive()) {
    signalGroup(config.killSignal)
    const giveUpAt = monotonicMs() + config.killGraceMs
    while (groupAlive() && monotonicMs() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, 20))
    if (groupAlive()) {
      signalGroup('SIGKILL')
      while (groupAlive() && monotonicMs() < giveUpAt + 1000) await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  report({type: 'exited', code, signal})
  process.disconnect?.()
  process.exit(0)
})

process.on('message', (request: GuardRequest) => {
  if (request.type === 'extend') {
    deadline = request.deadlineMs
    if (!stopping) armDeadline()
  } else if (request.type === 'forward') {
    signalGroup(request.signal)
  } else if (request.type === 'stop') {
    stopGroup(request.signal, request.why)
  }
})

process.on('disconnect', () => stopGroup(config.killSignal, 'elect went away'))
