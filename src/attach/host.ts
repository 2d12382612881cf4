import {chmodSync, unlinkSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {after} from '../time/clock.js'
import {type Grant, type GuestMessage, type Hello, receive, send} from './protocol.js'

interface Guest {
  socket: Socket
  /** It asked for the leadership (one attach per connection). */
  attached: boolean
  killGraceMs: number
  waiting: boolean
  leading: boolean
  gone: Promise<void>
}

export class CampaignRunsHere extends Error {}

/**
 * A campaign's door for the run-if-leaders of its machine: it lends them its leadership while it
 * leads, relays each renewal, and on the leadership's end tells them to stop and waits until their
 * jobs are dead. Knows nothing of etcd or of processes beyond its socket.
 */
export class AttachHost {
  private readonly guests = new Set<Guest>()
  private leadership?: {grant: Grant; validUntil: number}
  private ended = false

  private constructor(
    private readonly server: Server,
    private readonly path: string,
    private readonly hello: Hello,
    private readonly beforeLending: (killGraceMs: number) => Promise<void>,
  ) {
    server.on('connection', (socket) => this.welcome(socket))
  }

  /**
   * Listens at `path`, replacing what a dead campaign left there; refuses if a live one answers there.
   * `beforeLending` runs before each job gets the leadership: the job stops `killGraceMs` (plus the
   * margin) early, so the lease must be renewed often enough, and freshly enough, for that.
   */
  static async open(path: string, hello: Omit<Hello, 't'>, beforeLending: (killGraceMs: number) => Promise<void>): Promise<AttachHost> {
    const server = createServer()
    const host = new AttachHost(server, path, {t: 'hello', ...hello}, beforeLending)
    try {
      await listen(server, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
      if (await answers(path)) throw new CampaignRunsHere(`a campaign for ${hello.name} already runs on this machine (socket ${path})`)
      unlinkSync(path)
      await listen(server, path)
    }
    chmodSync(path, 0o600)
    return host
  }

  lead(grant: Grant, validUntil: number): void {
    this.leadership = {grant, validUntil}
    for (const guest of this.guests) if (guest.waiting) this.lend(guest)
  }

  renewed(validUntil: number): void {
    if (!this.leadership) return
    this.leadership.validUntil = validUntil
    for (const guest of this.guests) if (guest.leading) send(guest.socket, {t: 'renewed', validUntil})
  }

  /**
   * Ends this leadership, not the campaign: the leading guests are told to stop, and waited for as by
   * end(); waiting guests wait on for the next one, and newcomers hear 'not-leading' until it comes.
   */
  async endLeadership(reason: string, timeoutMs: number): Promise<void> {
    this.leadership = undefined
    const leading = [...this.guests].filter((guest) => guest.leading)
    for (const guest of leading) send(guest.socket, {t: 'stop', reason})
    await allGone(leading, timeoutMs)
  }

  /**
   * Ends the leadership for every guest and waits until each leading one reported its job dead or
   * hung up, at most `timeoutMs` (its lease's fence stops a job that still ran). Waiting guests are
   * told too: the leadership they waited for will not come from here.
   */
  async end(reason: string, timeoutMs: number): Promise<void> {
    this.ended = true
    for (const guest of this.guests) if (!guest.leading) send(guest.socket, {t: 'stop', reason})
    await this.endLeadership(reason, timeoutMs)
  }

  /** How long end() should allow: the longest kill grace of a job attached now, plus a margin. */
  get longestGraceMs(): number {
    return Math.max(0, ...[...this.guests].filter((guest) => guest.leading).map((guest) => guest.killGraceMs))
  }

  async close(): Promise<void> {
    for (const guest of this.guests) guest.socket.destroy()
    await new Promise((done) => this.server.close(done))
    try {
      unlinkSync(this.path)
    } catch {
      // Already gone, or replaced by a newer campaign's: either way not ours to remove.
    }
  }

  private welcome(socket: Socket): void {
    let hungUp = () => {}
    const guest: Guest = {socket, attached: false, killGraceMs: 0, waiting: false, leading: false, gone: new Promise((done) => (hungUp = done))}
    this.guests.add(guest)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.guests.delete(guest)
      hungUp()
    })
    send(socket, this.hello)
    receive<GuestMessage>(socket, (message) => {
      if (message.t === 'attach' && !guest.attached) {
        guest.attached = true
        guest.killGraceMs = message.killGraceMs
        if (this.ended) send(socket, {t: 'stop', reason: 'the campaign is ending'})
        else if (this.leadership) this.lend(guest)
        else if (message.wait) guest.waiting = true
        else send(socket, {t: 'not-leading'})
      } else if (message.t === 'done') {
        socket.end()
      }
    })
  }

  private lend(guest: Guest): void {
    guest.waiting = false
    this.beforeLending(guest.killGraceMs).then(
      () => {
        // The leadership may have ended meanwhile: then the guest was told to stop instead.
        if (!this.leadership || guest.socket.destroyed) return
        guest.leading = true
        send(guest.socket, {t: 'lead', grant: this.leadership.grant, validUntil: this.leadership.validUntil})
      },
      () => guest.socket.destroy(),
    )
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Waits until each of `guests` reported its job dead or hung up, at most `timeoutMs`. */
async function allGone(guests: Guest[], timeoutMs: number): Promise<void> {
  let cancel: (() => void) | undefined
  await Promise.race([Promise.all(guests.map((guest) => guest.gone)), new Promise<void>((done) => (cancel = after(timeoutMs, done)))])
  cancel?.()
}

/** Whether something accepts connections at `path` (a frozen campaign does too: the kernel accepts). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** The host of a campaign that has nobody to lend to: every call does nothing. */
export const NO_HOST = {
  longestGraceMs: 0,
  lead() {},
  renewed() {},
  async endLeadership() {},
  async end() {},
  async close() {},
} satisfies Pick<AttachHost, 'longestGraceMs' | 'lead' | 'renewed' | 'endLeadership' | 'end' | 'close'>
