import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, exitCodesHelp, thisHost} from '../base-command.js'
import {AbortedError, type Candidacy, Election} from '../election/election.js'
import {leaseHex} from '../election/keys.js'
import {Session} from '../election/session.js'
import {connect} from '../etcd/connection.js'
import {ExitCode} from '../exit-codes.js'
import {SAFETY_MARGIN_MS} from '../guarded-run.js'
import {highlight, startSpinner} from '../terminal.js'

export default class Campaign extends BaseCommand {
  static summary = 'Wait to lead an election, then hold leadership until signalled or lost'
  static description = `Prints one line when elected and holds leadership until SIGINT/SIGTERM or a resign request (then steps down, exit 0) or until leadership is lost (exit 75). With --json, prints one JSON object per event: waiting, elected, lost, resigned.

${exitCodesHelp([0, 1, 2, 69, 75, 124])}`
  static examples = [
    '<%= config.bin %> campaign scheduler',
    '<%= config.bin %> campaign scheduler --value "$(hostname):$$" --timeout 30s --json',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({description: 'this candidate\'s value, shown by who-leads (default: host name)'}),
    ttl: duration({description: 'lease TTL: how soon a crashed leader is replaced', default: 10_000, defaultHelp: async () => '10s'}),
    timeout: duration({description: 'give up (exit 124) if not elected within this long'}),
    json: Flags.boolean({description: 'one JSON object per event on stdout'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Campaign)
    const name = this.electionName(args.name)
    const value = flags.value ?? thisHost()
    const connection = this.connectionOptions(flags)
    const event = (kind: string, details: object = {}) => flags.json && this.data({event: kind, name, value, ...details})
    // Listening before the first lease: a signal must end in a withdrawal, not in the default death.
    const stop = new AbortController()
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => stop.abort(signal))
    const client = await connect(connection)
    const timer = flags.timeout === undefined ? undefined : setTimeout(() => stop.abort('timeout'), flags.timeout)
    let session: Session | undefined
    let candidacy: Candidacy | undefined
    let self = {}
    try {
      session = await Session.grant(client, {ttlMs: flags.ttl, fenceLeadMs: SAFETY_MARGIN_MS, callTimeoutMs: connection.commandTimeoutMs})
      session.once('lost', (reason) => stop.abort(`lost: ${reason}`))
      candidacy = await new Election(client, this.electionPrefix(flags), name).enqueue(session, value)
      self = {key: candidacy.self.key, lease: leaseHex(session.leaseId), revision: candidacy.self.createRevision}
      event('waiting', self)
      const spinner = await startSpinner(`waiting to lead ${name}`)
      try {
        await candidacy.waitUntilLeader(stop.signal)
      } finally {
        spinner.stop()
        clearTimeout(timer)
      }
      // A leadership is announced only while its lease is certainly valid.
      await session.fence()
      if (stop.signal.aborted) throw new AbortedError(String(stop.signal.reason))
      await candidacy.watchLeadership()
      if (flags.json) event('elected', self)
      else this.data(`elected: ${await highlight(value)} leads ${name} (revision ${candidacy.self.createRevision})`)

      const leadership = candidacy
      const ending = await new Promise<string>((resolve) => {
        if (stop.signal.aborted) resolve(String(stop.signal.reason))
        stop.signal.addEventListener('abort', () => resolve(String(stop.signal.reason)), {once: true})
        leadership.once('lost', (reason) => resolve(`lost: ${reason}`))
        leadership.once('resign-requested', (by) => resolve(`resign requested by ${by}`))
      })
      if (ending.startsWith('lost: ')) {
        event('lost', {...self, reason: ending.slice(6)})
        this.say(`lost leadership of ${name}: ${ending.slice(6)}`)
        return ExitCode.lost
      }
      await candidacy.stopWatching()
      await session.close()
      event('resigned', {...self, reason: ending})
      return ExitCode.ok
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      const why = String(stop.signal.reason)
      if (why === 'timeout') {
        event('timed-out', self)
        this.say(`not elected leader of ${name} within --timeout`)
        return ExitCode.timedOut
      }
      if (why.startsWith('lost: ')) {
        event('lost', {...self, reason: why.slice(6)})
        this.say(`lost the lease while waiting to lead ${name}: ${why.slice(6)}`)
        return ExitCode.lost
      }
      event('resigned', {...self, reason: why})
      return ExitCode.ok
    } finally {
      clearTimeout(timer)
      await candidacy?.stopWatching()
      await session?.close().catch(() => undefined)
      client.close()
    }
  }
}
