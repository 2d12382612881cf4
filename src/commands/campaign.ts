import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, healthFlags, thisHost} from '../cli/base-command.js'
import {formatDuration} from '../time/duration.js'
import {exitCodes, UsageError} from '../contract/exit-codes.js'
import {SAFETY_MARGIN_MS} from '../lease/fence.js'
import {type CampaignEnd, runCampaign} from '../leadership/campaign.js'
import {onStopSignals} from '../leadership/signals.js'
import {ServiceNotifier} from '../systemd/notify.js'
import {CampaignPresenter} from '../output/campaign-events.js'

export default class Campaign extends BaseCommand {
  static summary = 'Wait to lead an election, then hold leadership until signalled or lost'
  static description = `Prints one line when elected and leads until SIGINT/SIGTERM or a resign request (then steps down, exit 0) or until leadership is lost (exit 75). While it leads, \`elect run-if-leader NAME\` on this machine (same user, etcd and prefix) runs under its leadership, and on the way out those runs are stopped first. With --health-cmd, it queues only while the check passes and steps down once it fails --health-failures times in a row.`
  static exitCodes = exitCodes([1, 2, 69], {
    0: 'stepped down on a signal or a resign request',
    75: 'leadership lost (the jobs run under it were stopped)',
    124: 'not elected within --timeout',
  })
  static examples = ['<%= config.bin %> campaign scheduler', "<%= config.bin %> campaign scheduler --health-cmd 'test -w /var/lib/scheduler'"]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({helpValue: 'TEXT', description: 'this candidate in who-leads (default: host name)'}),
    ttl: duration({description: 'how soon a crashed leader is replaced', default: 10_000, defaultHelp: async () => '10s'}),
    timeout: duration({description: 'give up (exit 124) if not elected within this long'}),
    json: Flags.boolean({description: 'one JSON object per event on stdout'}),
    ...healthFlags(true),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Campaign)
    const name = this.electionName(args.name)
    const value = this.candidateValue(flags.value ?? thisHost())
    this.leaseTtl(
      flags.ttl,
      0,
      () => new UsageError(`--ttl ${formatDuration(flags.ttl)} must exceed the ${formatDuration(SAFETY_MARGIN_MS)} safety margin of a leadership's lease`),
    )
    // Listening before the first lease: a signal must end in a withdrawal, not in the default death.
    const stop = new AbortController()
    const service = ServiceNotifier.fromEnvironment((line) => this.say(line))
    const presenter = new CampaignPresenter({
      name,
      value,
      json: flags.json,
      data: (line) => this.data(line),
      say: (line) => this.say(line),
      service,
    })
    const unlisten = onStopSignals((signal) => {
      if (!stop.signal.aborted) presenter.stopping(signal)
      stop.abort(signal)
    })
    try {
      const end: CampaignEnd = await this.withEtcd(this.connectionOptions(flags), (client) =>
        runCampaign(
          client,
          {
            prefix: this.electionPrefix(flags),
            name,
            value,
            ttlMs: flags.ttl,
            callTimeoutMs: flags['command-timeout'],
            signal: stop.signal,
            timeoutMs: flags.timeout,
            health:
              flags['health-cmd'] === undefined
                ? undefined
                : {command: flags['health-cmd'], intervalMs: flags['health-interval'], timeoutMs: flags['health-timeout'], failures: flags['health-failures']},
          },
          presenter,
        ),
      )
      return presenter.ended(end)
    } finally {
      presenter.close()
      unlisten()
      await service?.settled()
    }
  }
}
