import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, exitCodesHelp, healthFlags, thisHost} from '../cli/base-command.js'
import {after} from '../time/clock.js'
import {formatDuration} from '../time/duration.js'
import {UsageError} from '../cli/exit-codes.js'
import {SAFETY_MARGIN_MS} from '../lease/fence.js'
import {type StandingEnd, standForLeadership} from '../leadership/campaign.js'
import {onStopSignals} from '../leadership/signals.js'
import {UnrunnableHealthCheck} from '../health/health.js'
import {ServiceNotifier} from '../systemd/notify.js'
import {CampaignTold} from './campaign/told.js'

export default class Campaign extends BaseCommand {
  static summary = 'Wait to lead an election, then hold leadership until signalled or lost'
  static description = `Prints one line when elected and holds leadership until SIGINT/SIGTERM or a resign request (then steps down, exit 0) or until leadership is lost (exit 75). With --json, prints one JSON object per event: waiting, elected, lost, resigned, and with --health-cmd health (each change) and stepped-down.

With --health-cmd, it queues only once the check passes, and a leader whose check fails --health-failures times in a row steps down as on a resign request (its jobs stopped first), saying why on stderr, and queues again once the check passes.

While it leads, \`elect run-if-leader <name>\` on this machine (same user, etcd and prefix) runs its command under this leadership; on the way out the campaign stops those commands first, then steps down. The runtime directory they meet in is $ELECT_RUNTIME_DIR, else /run/elect for root, else /run/user/<uid>/elect where that exists, else /tmp/elect-<uid>.

${exitCodesHelp([0, 1, 2, 69, 75, 124])}`
  static examples = [
    '<%= config.bin %> campaign scheduler',
    '<%= config.bin %> campaign scheduler --value "$(hostname):$$" --timeout 30s --json',
    '<%= config.bin %> campaign scheduler --health-cmd \'test -w /var/lib/scheduler\' --health-interval 30s',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({description: 'this candidate\'s value, shown by who-leads (default: host name)'}),
    ttl: duration({description: 'lease TTL: how soon a crashed leader is replaced', default: 10_000, defaultHelp: async () => '10s'}),
    timeout: duration({description: 'give up (exit 124) if not elected within this long'}),
    json: Flags.boolean({description: 'one JSON object per event on stdout'}),
    ...healthFlags(true),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Campaign)
    const name = this.electionName(args.name)
    const value = this.candidateValue(flags.value ?? thisHost())
    this.leaseTtl(flags.ttl, 0, () => new UsageError(`--ttl ${formatDuration(flags.ttl)} must exceed the ${formatDuration(SAFETY_MARGIN_MS)} safety margin of a leadership's lease`))
    // Listening before the first lease: a signal must end in a withdrawal, not in the default death.
    const stop = new AbortController()
    const cancelTimeout = flags.timeout === undefined ? undefined : after(flags.timeout, () => stop.abort('timeout'))
    const service = ServiceNotifier.fromEnvironment((line) => this.say(line))
    const told = new CampaignTold({name, value, json: flags.json, data: (line) => this.data(line), say: (line) => this.say(line), onElected: () => cancelTimeout?.(), service})
    const unlisten = onStopSignals((signal) => {
      if (!stop.signal.aborted) told.stopping(signal)
      stop.abort(signal)
    })
    try {
      const end: StandingEnd = await this.withEtcd(this.connectionOptions(flags), (client) => standForLeadership(client, {
        prefix: this.electionPrefix(flags), name, value, ttlMs: flags.ttl, callTimeoutMs: flags['command-timeout'], signal: stop.signal,
        health: flags['health-cmd'] === undefined ? undefined : {command: flags['health-cmd'], intervalMs: flags['health-interval'], timeoutMs: flags['health-timeout'], failures: flags['health-failures']},
      }, told).catch((error) => {
        throw error instanceof UnrunnableHealthCheck ? new UsageError(error.message) : error
      }))
      return told.ended(end)
    } finally {
      told.close()
      cancelTimeout?.()
      unlisten()
      await service?.settled()
    }
  }
}
