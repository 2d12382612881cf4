import {EventEmitter} from 'node:events'
import {existsSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {type Grant, type Hello, type HostMessage, receive, send} from './protocol.js'
import {checkPrivateDir, mayHoldSocketOf, runtimeDir, socketPath} from './runtime-dir.js'

export type AttachOutcome =
  | {kind: 'lead'; grant: Grant}
  | {kind: 'not-leading'}
  /** The campaign ended (or is ending) before it lent its leadership. */
  | {kind: 'ended'; reason: string}
  | {kind: 'aborted'}

/**
 * A run-if-leader's line to the campaign of its machine. While attached it behaves like a lease:
 * `validUntil` follows the campaign's renewals ('renewed'), and 'lost' fires once when the campaign
 * says stop or hangs up (it was killed, or ended).
 */
export class Attachment extends EventEmitter {
  validUntil = 0
  lost?: string
  private outcome?: (outcome: AttachOutcome) => void
  private closing = false

  private constructor(
    private readonly socket: Socket,
    readonly hello: Hello,
  ) {
    super()
    socket.on('close', () => this.hangUp())
  }

  /**
   * The campaign listening at `path`, or undefined when none runs (no socket, or a dead campaign's:
   * its file is left, but nothing accepts) or what answers is not a campaign. 'silent' when something
   * accepts but does not say hello within `timeoutMs`: a frozen campaign, which must not be trusted
   * either way.
   */
  static find(path: string, timeoutMs: number): Promise<Attachment | 'silent' | undefined> {
    return new Promise((resolve) => {
      const socket = connect(path)
      const timer = setTimeout(() => {
        socket.destroy()
        resolve('silent')
      }, timeoutMs)
      // Before the hello, an error or a hang-up means no campaign; after it, the attachment's 'close'.
      socket.on('error', () => undefined)
      socket.once('close', () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      let attachment: Attachment | undefined
      receive<HostMessage>(socket, (message) => {
        if (attachment) return attachment.hear(message)
        clearTimeout(timer)
        if (message.t !== 'hello') return socket.destroy()
        attachment = new Attachment(socket, message)
        resolve(attachment)
      })
    })
  }

  /** Asks to run under the campaign's leadership, waiting for it if `wait`. */
  attach(options: {wait: boolean; killGraceMs: number; signal?: AbortSignal}): Promise<AttachOutcome> {
    return new Promise((resolve) => {
      const onAbort = () => finish({kind: 'aborted'})
      const finish = (outcome: AttachOutcome) => {
        this.outcome = undefined
        options.signal?.removeEventListener('abort', onAbort)
        resolve(outcome)
      }
      if (options.signal?.aborted) return finish({kind: 'aborted'})
      options.signal?.addEventListener('abort', onAbort)
      this.outcome = finish
      if (this.lost) return finish({kind: 'ended', reason: this.lost})
      send(this.socket, {t: 'attach', wait: options.wait, killGraceMs: options.killGraceMs})
    })
  }

  /** Tells the campaign the job's group is dead, and hangs up. */
  done(): void {
    this.closing = true
    send(this.socket, {t: 'done'})
    this.socket.end()
  }

  /** Hangs up without a word, unless done() already said goodbye. */
  close(): void {
    if (this.closing) return
    this.closing = true
    this.socket.destroy()
  }

  private hear(message: HostMessage): void {
    if (message.t === 'lead') {
      this.validUntil = message.validUntil
      this.outcome?.({kind: 'lead', grant: message.grant})
    } else if (message.t === 'not-leading') {
      this.outcome?.({kind: 'not-leading'})
    } else if (message.t === 'renewed') {
      this.validUntil = Math.max(this.validUntil, message.validUntil)
      this.emit('renewed', this.validUntil)
    } else if (message.t === 'stop') {
      this.lose(message.reason)
    }
  }

  private hangUp(): void {
    if (!this.closing) this.lose('the campaign on this machine ended')
  }

  private lose(reason: string): void {
    if (this.lost) return
    this.lost = reason
    this.outcome?.({kind: 'ended', reason})
    this.emit('lost', reason)
  }
}

/**
 * The campaign of election `name` under `prefix` that runs on this machine for this user, if any.
 * `warning` says why a runtime directory that exists could not be trusted.
 */
export async function findLocalCampaign(prefix: string, name: string, timeoutMs: number): Promise<{campaign?: Attachment | 'silent'; warning?: string}> {
  const dir = runtimeDir()
  try {
    checkPrivateDir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    return {warning: `${(error as Error).message}; running standalone`}
  }
  // No socket, no campaign: asked without one, as every fire of a crontab without a campaign would
  // ask, a refused connection costs a process some 3 ms of its start.
  if (!mayHoldSocketOf(dir, name)) return {}
  const path = socketPath(dir, prefix, name)
  if (!existsSync(path)) return {}
  return {campaign: await Attachment.find(path, timeoutMs)}
}
