// systemd's notify protocol (sd_notify(3)), for a campaign run as a Type=notify service: READY once it
// campaigns, STATUS for `systemctl status`, WATCHDOG while its loops turn, STOPPING on the way out.
// Node cannot send on a Unix datagram socket, so systemd's own systemd-notify sends each message; it
// waits until systemd has taken it (a barrier, systemd 246 and later), which is what lets systemd
// credit a message from a short-lived process to the unit (the unit says NotifyAccess=all).
import {spawn} from 'node:child_process'
import {monotonicMs} from '../time/clock.js'

export class ServiceNotifier {
  private ready = false
  /** Messages go one at a time, in order: each waits for the one before to be taken. */
  private queue: Promise<void> = Promise.resolve()
  private lastWatchdogAt = Number.NEGATIVE_INFINITY
  private broken = false

  private constructor(
    private readonly watchdogMs: number | undefined,
    private readonly say: (line: string) => void,
  ) {}

  /** A notifier where systemd asked for one ($NOTIFY_SOCKET), else undefined. */
  static fromEnvironment(say: (line: string) => void, env = process.env): ServiceNotifier | undefined {
    if (!env.NOTIFY_SOCKET) return undefined
    // The watchdog is this process's only if systemd named no other pid.
    const watchdogUs = Number(env.WATCHDOG_USEC)
    const ours = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid
    return new ServiceNotifier(watchdogUs > 0 && ours ? watchdogUs / 1000 : undefined, say)
  }

  /** What it does now, for `systemctl status`; the first one also says it is ready. */
  status(text: string): void {
    this.send([...(this.ready ? [] : ['READY=1']), `STATUS=${text}`])
    this.ready = true
  }

  /**
   * Its loops still turn (a keepalive, a health check): pets the watchdog, at most four times per
   * watchdog period (each is a process).
   */
  alive(): void {
    if (this.watchdogMs === undefined || monotonicMs() - this.lastWatchdogAt < this.watchdogMs / 4) return
    this.lastWatchdogAt = monotonicMs()
    this.send(['WATCHDOG=1'])
  }

  stopping(text: string): void {
    this.send(['STOPPING=1', `STATUS=${text}`])
  }

  /** Resolves once every message so far was taken (or could not be sent). */
  settled(): Promise<void> {
    return this.queue
  }

  private send(assignments: string[]): void {
    if (this.broken) return
    this.queue = this.queue.then(
      () =>
        new Promise<void>((resolve) => {
          const child = spawn('systemd-notify', assignments, {stdio: 'ignore'})
          child.on('error', (error) => {
            this.broken = true
            this.say(`NOTIFY_SOCKET is set, but systemd-notify cannot be run (${error.message}): systemd hears nothing from this campaign`)
            resolve()
          })
          child.on('close', () => resolve())
        }),
    )
  }
}
