// What a campaign tells as it goes: its events (--json) or its lines on stdout and stderr, the spinner
// on a terminal, and systemd (STATUS, READY, WATCHDOG, STOPPING) where it runs as a notify service.
import {warnOfLeaseBugs} from '../cli/etcd-version.js'
import {ExitCode} from '../contract/exit-codes.js'
import {highlight, type Spinner, startSpinner} from '../cli/terminal.js'
import {type Candidate, identity} from '../election/candidate.js'
import type {CampaignEnd, CampaignEvents} from '../leadership/campaign.js'
import type {ServiceNotifier} from '../systemd/notify.js'

export interface CampaignPresenterOptions {
  name: string
  value: string
  json: boolean
  data: (line: string | object) => void
  say: (line: string) => void
  service?: ServiceNotifier
}

export class CampaignPresenter implements CampaignEvents {
  private self?: ReturnType<typeof identity>
  private spinner?: Spinner
  private sick = false

  constructor(private readonly options: CampaignPresenterOptions) {}

  async waiting(candidate: Candidate, leader?: Candidate): Promise<void> {
    const {name, service} = this.options
    this.self = identity(candidate)
    this.event('waiting', this.self)
    service?.status(`waiting to lead ${name}${leader ? `: ${leader.value} leads` : ''}`)
    this.spinner = await startSpinner(`waiting to lead ${name}`)
  }

  async elected(): Promise<void> {
    const {name, value, json, service} = this.options
    this.spinner?.stop()
    service?.status(`leading ${name} since ${new Date().toISOString()}`)
    if (json) this.event('elected', this.self)
    else this.options.data(`elected: ${await highlight(value)} leads ${name} (revision ${this.self!.revision})`)
  }

  notice(message: string): void {
    this.options.say(message)
  }

  serverVersion(version: string): void {
    warnOfLeaseBugs(version, this.options.say)
  }

  health(healthy: boolean, reason?: string): void {
    const {name, say, service} = this.options
    this.event('health', {healthy, reason: reason ?? null})
    if (!healthy) {
      say(`${reason}; ${name} is not for this server until it passes`)
      service?.status(`not queued for ${name}: ${reason}`)
    } else if (this.sick) say(`the health check passes again: queueing for ${name}`)
    this.sick = !healthy
  }

  steppedDown(reason: string, wasLeading: boolean): void {
    const {name, say, service} = this.options
    this.spinner?.stop()
    this.event('stepped-down', {...this.self, reason, leading: wasLeading})
    say(`${wasLeading ? 'stepped down as leader of' : 'left the queue of'} ${name}: ${reason}; it queues again once the check passes`)
    service?.status(`${wasLeading ? 'stepped down from' : 'left the queue of'} ${name}: ${reason}`)
  }

  alive(): void {
    this.options.service?.alive()
  }

  /** A signal asks it to stop: systemd hears so before the jobs are stopped and the key goes. */
  stopping(signal: string): void {
    this.options.service?.stopping(`stepping down from ${this.options.name} (${signal})`)
  }

  /** Tells how the campaign ended; returns its exit status. */
  ended(end: CampaignEnd): number {
    const {name, say} = this.options
    this.spinner?.stop()
    switch (end.kind) {
      case 'timed-out':
        this.event('timed-out', this.self)
        say(`not elected leader of ${name} within --timeout`)
        return ExitCode.timedOut
      case 'lost':
        this.event('lost', {...this.self, reason: end.reason})
        say(end.whileWaiting ? `lost the lease while waiting to lead ${name}: ${end.reason}` : `lost leadership of ${name}: ${end.reason}`)
        return ExitCode.lost
      case 'resigned':
        this.event('resigned', {...this.self, reason: end.reason})
        return ExitCode.ok
    }
  }

  close(): void {
    this.spinner?.stop()
  }

  private event(kind: string, details: object = {}): void {
    const {json, name, value, data} = this.options
    if (json) data({event: kind, name, value, ...details})
  }
}
