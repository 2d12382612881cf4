import type {Socket} from 'node:net'

// A campaign and the run-if-leaders of its machine speak newline-delimited JSON over a Unix socket.

/** What a campaign says of itself as soon as a process connects. */
export interface Hello {
  t: 'hello'
  /** The etcd cluster and election it campaigns in: a guest of another one must not attach. */
  clusterId: string
  prefix: string
  name: string
  value: string
  pid: number
  ttlMs: number
}

/** The leadership a campaign lends: opaque to this room, the election layer's candidate. */
export interface Grant {
  key: string
  revision: number
  leaseId: string
  value: string
}

export type HostMessage =
  | Hello
  /** The campaign leads; `validUntil` is when its lease could first expire (CLOCK_MONOTONIC ms, shared by all processes). */
  | {t: 'lead'; grant: Grant; validUntil: number}
  | {t: 'not-leading'}
  | {t: 'renewed'; validUntil: number}
  /** The leadership ends: stop the job, then say 'done'. */
  | {t: 'stop'; reason: string}

export type GuestMessage =
  | {t: 'attach'; wait: boolean; killGraceMs: number}
  /** The job's process group is dead. */
  | {t: 'done'}

export function send(socket: Socket, message: HostMessage | GuestMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`)
}

/** Calls `onMessage` with each JSON line; a line that is not JSON ends the connection. */
export function receive<T>(socket: Socket, onMessage: (message: T) => void): void {
  let buffered = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buffered += chunk
    for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      try {
        onMessage(JSON.parse(line) as T)
      } catch {
        socket.destroy()
        return
      }
    }
    if (buffered.length > 65_536) socket.destroy()
  })
}
