import {readFileSync} from 'node:fs'
import {exitCodes, UsageError} from '../contract/exit-codes.js'
import {WriteCommand} from './write-command.js'
import type {Write} from '../leadership/fencing.js'

export default class Txn extends WriteCommand {
  static summary = 'Apply several writes to etcd at once; with --fenced, only while the job still leads'
  static description = `Reads the writes from stdin, one a line: "put KEY VALUE" (the value is the rest of the line) or "del KEY"; blank lines and lines that start with # are skipped. They apply in one transaction: all of them or none. Inside a job, with --fenced, only while the leadership the job runs under holds: its leader key (ELECT_KEY) still the one made at its fencing token (ELECT_REV). Fenced out, nothing is written and it exits 3. elect's own keys are refused.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'every write applied', 3: 'fenced out: the leadership no longer holds, nothing written'})
  static examples = ['printf "put reports/last %s\\ndel reports/in-progress\\n" "$(date -u +%F)" | <%= config.bin %> txn --fenced']
  static flags = {...WriteCommand.fencedFlag}

  protected async execute(): Promise<number> {
    const {flags} = await this.parse(Txn)
    const writes = readFileSync(0, 'utf8')
      .split('\n')
      .map((line, index) => ({line: line.replace(/\r$/, ''), number: index + 1}))
      .filter(({line}) => line.trim() !== '' && !line.startsWith('#'))
      .map(({line, number}) => writeOf(line, number))
    if (writes.length === 0) throw new UsageError('elect txn read no writes from stdin: give "put KEY VALUE" or "del KEY", one a line')
    return this.applyWrites(flags, writes)
  }
}

function writeOf(line: string, number: number): Write {
  const put = /^put (\S+) (.*)$/.exec(line)
  if (put) return {put: put[1], value: put[2]}
  const del = /^del (\S+)$/.exec(line)
  if (del) return {del: del[1]}
  throw new UsageError(`stdin line ${number} is not "put KEY VALUE" or "del KEY": ${line}`)
}
