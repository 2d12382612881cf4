import {type Command, CommandHelp, type Config, Help, type Interfaces} from '@oclif/core'
import {EXIT_CODES_HELP, type ExitCodeTexts} from '../contract/exit-codes.js'
import {SYSTEM_CONFIG} from './configuration.js'

const CONNECTION = 'CONNECTION'

/**
 * A command's help fits a screen: what it does in a few lines, its own flags a line each, the
 * connection flags that every command shares by name only (elect --help has them in full), and the
 * exit codes it can end with, in its own words.
 */
class ElectCommandHelp extends CommandHelp {
  protected sections() {
    const section = (header: string) => super.sections().find((candidate) => candidate.header === header)!
    return [
      section('USAGE'),
      section('DESCRIPTION'),
      {
        header: 'FLAGS',
        generate: ({flags}: {flags: Command.Flag.Any[]}, header: string) => ({header, body: this.flags(flags.filter((flag) => flag.helpGroup !== CONNECTION))}),
      },
      {
        header: 'CONNECTION FLAGS',
        generate: ({flags}: {flags: Command.Flag.Any[]}) =>
          this.wrap(
            `${flags
              .filter((flag) => flag.helpGroup === CONNECTION)
              .map((flag) => `--${flag.name}`)
              .join(' ')} (or their ELECT_* variables and configuration files: see elect --help)`,
          ),
      },
      {
        header: 'EXIT CODES',
        generate: (_data: unknown, header: string) => ({header, body: Object.entries((this.command as {exitCodes?: ExitCodeTexts}).exitCodes ?? {})}),
      },
      section('EXAMPLES'),
    ]
  }

  /** The description alone: the summary stands above it already. */
  protected description(): string | undefined {
    return this.command.description && this.wrap(this.command.description)
  }

  /** The flags stand in their own section: a usage line that listed them all would fill the screen. */
  protected defaultUsage(): string {
    const args = Object.values(this.command.args ?? {})
      .filter((arg) => !arg.hidden)
      .map((arg) => this.arg(arg))
    return [this.command.id, ...args, '[FLAGS]'].join(' ')
  }

  /** `--ttl TIME`, as a user types it (oclif's parser takes `--ttl=TIME` too). */
  protected flagHelpLabel(flag: Command.Flag.Any, showOptions?: boolean): string {
    return super.flagHelpLabel(flag, showOptions).replace('=', ' ')
  }

  /** One block, a line each: these examples need no words between them. */
  protected examples(examples: Command.Example[] | undefined | string): string | undefined {
    return examples === undefined
      ? undefined
      : [examples]
          .flat()
          .map((example) => super.examples([example]))
          .join('\n')
  }

  /** The flags' table (protected in oclif), for the root help's list of connection flags. */
  flagTable(flags: Command.Flag.Any[]) {
    return this.flags(flags)
  }
}

/** The root help adds what every command shares: the connection flags, the configuration files, the exit codes. */
export class ElectHelp extends Help {
  protected CommandHelpClass = ElectCommandHelp

  // Set here, not in package.json's helpOptions, which `elect help <command>` would not read.
  constructor(config: Config, options: Partial<Interfaces.HelpOptions> = {}) {
    super(config, {...options, flagSortOrder: 'none'})
  }

  protected async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const anyCommand = this.config.findCommand('who-leads')!
    const connection = Object.entries(anyCommand.flags)
      .filter(([, flag]) => flag.helpGroup === CONNECTION)
      .map(([name, flag]) => ({...flag, name}))
    this.log(this.section('CONNECTION FLAGS (every command)', new ElectCommandHelp(anyCommand, this.config, this.opts).flagTable(connection)))
    this.log('')
    this.log(
      this.section(
        'CONFIGURATION',
        this.wrap(
          `A flag wins over its ELECT_* variable, which wins over the files, read in this order (a later one wins): ${SYSTEM_CONFIG}, ~/.config/elect/elect.env ($XDG_CONFIG_HOME), the file ELECT_CONFIG names. One NAME=value a line, as systemd's EnvironmentFile= reads it. elect check says what was read, and from where.`,
        ),
      ),
    )
    this.log('')
    this.log(this.section('EXIT CODES (every command)', Object.entries(EXIT_CODES_HELP)))
    this.log('')
  }
}
