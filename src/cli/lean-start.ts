// What both lean start-ups share (src/lean.ts, src/lean-run.ts): a command class of elect's run on
// the small parser (cli/lean-oclif.ts), handed back to oclif, untouched, whenever it is not the
// lean path's to run.
import {NotLean} from './lean-oclif.js'
import {NeedsGrpc} from '../etcd/gateway.js'
import type {BaseCommand} from './base-command.js'
import {hideNodeWarnings} from './errors.js'

type CommandClass = new (argv: string[], config: never) => BaseCommand

/** Runs `argv` (the command's id, then its own) and returns its exit code, or undefined: oclif is to run it. */
export async function runWithoutOclif(commands: Record<string, CommandClass>, argv: string[]): Promise<number | undefined> {
  const [id, ...rest] = argv
  const Command = commands[id]
  if (!Command) return undefined
  hideNodeWarnings()
  const environment = {...process.env}
  const command = new Command(rest, undefined as never)
  command.id = id
  try {
    return await command.run()
  } catch (error) {
    if (error instanceof NotLean || error instanceof NeedsGrpc) {
      // As elect was given it: the command may have applied its configuration files' settings.
      for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name]
      Object.assign(process.env, environment)
      return undefined
    }
    await command.catch(error as Error)
    return Number(process.exitCode ?? 1)
  }
}
