import {Flags} from '@oclif/core'
import {ExitCode, UsageError} from '../contract/exit-codes.js'
import {ElectionKeys} from '../election/keys.js'
import {jobLeadership, type Write, write, writeFenced} from '../leadership/fencing.js'
import {BaseCommand} from '../cli/base-command.js'
import type {ConnectionFlags} from '../cli/connection-flags.js'

/** What put, del and txn share: --fenced, the keys they refuse, one transaction and its one line. */
export abstract class WriteCommand extends BaseCommand {
  static fencedFlag = {
    fenced: Flags.boolean({description: 'write only while the leadership this job runs under holds (ELECT_KEY at ELECT_REV), or nothing'}),
  }

  protected async applyWrites(flags: ConnectionFlags & {fenced: boolean; prefix?: string}, writes: Write[]): Promise<number> {
    const fence = jobLeadership(process.env)
    if (flags.fenced && !fence)
      throw new UsageError(`--fenced writes only while the leadership a job runs under holds: run it inside run-if-leader (ELECT_KEY and ELECT_REV set)`)
    for (const key of writes.map((each) => ('put' in each ? each.put : each.del))) {
      if (key === '') throw new UsageError('a key is one or more characters')
      // Any election's under the prefix, and the job's own whatever the prefix: a forged candidate, record or marker.
      if (ElectionKeys.isElectionKey(this.electionPrefix(flags), key) || (fence && ElectionKeys.isKeyOfElectionOf(fence.key, key)))
        throw new UsageError(`${key} is one of elect's own keys (an election's candidates, records and markers): write elsewhere`)
    }
    const connection = this.connectionOptions(flags)
    if (!flags.fenced) {
      await this.withEtcd(connection, (client) => write(client, writes))
      return ExitCode.ok
    }
    const outcome = await this.withEtcd(connection, (client) => writeFenced(client, writes, fence!))
    if (outcome.written) return ExitCode.ok
    this.say(`fenced out, nothing written: the leadership at ${fence!.key} (token ${fence!.createRevision}) no longer holds: ${outcome.why}`)
    return ExitCode.noLongerHolds
  }
}
