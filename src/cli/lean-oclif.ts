// What the one-shot commands use of @oclif/core, for the lean start-up's bundle, which takes this
// module for '@oclif/core' (test/build/build.ts): the same command classes then parse their own
// command line without loading oclif, whose loading and configuration cost a process more than the
// command (test/README.md's Performance). It parses the lines scripts write (--flag value,
// --flag=value, the arguments in order) exactly as oclif does; anything else (help, a short or
// unknown flag, a value oclif would refuse, a flag's own check that fails) throws NotLean before
// the command has done anything, and bin/run.cjs runs the line again on oclif, which says what
// oclif says.

/** The command line is not one this parser takes as oclif would: oclif is to run it. */
export class NotLean extends Error {}

interface FlagOptions {
  type?: 'boolean' | 'option'
  default?: unknown
  min?: number
  max?: number
  options?: readonly string[]
  parse?: (input: string, context: unknown, options: FlagOptions & {name: string}) => Promise<unknown>
  [setting: string]: unknown
}

// What makes oclif check a flag further than its value: left to oclif.
const OCLIF_ONLY = ['char', 'multiple', 'allowNo', 'exclusive', 'dependsOn', 'relationships', 'required', 'env', 'combinable', 'exactlyOne', 'deprecated']

// The commands are type-checked against @oclif/core itself: this module's types need only hold what it reads.
function custom(defaults: FlagOptions = {}) {
  return (options: FlagOptions = {}): FlagOptions => ({type: 'option', ...defaults, ...options})
}

export const Flags = {
  custom,
  boolean: (options: FlagOptions = {}): FlagOptions => ({...options, type: 'boolean'}),
  string: custom(),
  integer: (options: FlagOptions = {}): FlagOptions => ({
    ...options,
    type: 'option',
    async parse(input) {
      if (!/^-?\d+$/.test(input)) throw new NotLean()
      const value = Number(input)
      if ((options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) throw new NotLean()
      return value
    },
  }),
}

export const Args = {
  string: (options: {required?: boolean; [setting: string]: unknown} = {}) => options,
}

interface CommandClass {
  baseFlags?: Record<string, FlagOptions>
  flags?: Record<string, FlagOptions>
  args?: Record<string, {required?: boolean}>
  strict?: boolean
}

export abstract class Command {
  id?: string

  constructor(
    public argv: string[],
    public config: unknown,
  ) {}

  abstract run(): Promise<unknown>

  protected async parse(command: CommandClass, argv = this.argv): Promise<{args: Record<string, string>; flags: Record<string, unknown>; argv: string[]}> {
    const definitions: Record<string, FlagOptions> = {...command.baseFlags, ...command.flags}
    const given = new Map<string, string | true>()
    const positional: string[] = []
    for (let index = 0; index < argv.length; index++) {
      const word = argv[index]
      if (!word.startsWith('-') || word === '-') {
        positional.push(word)
        continue
      }
      const [, name, inline] = /^--([^=]+)(?:=([\s\S]*))?$/.exec(word) ?? []
      const flag = name === undefined ? undefined : definitions[name]
      if (!flag || given.has(name) || OCLIF_ONLY.some((setting) => flag[setting] !== undefined && flag[setting] !== false)) throw new NotLean()
      if (flag.type === 'boolean') {
        if (inline !== undefined) throw new NotLean()
        given.set(name, true)
        continue
      }
      const value = inline ?? argv[++index]
      // oclif reads a value that starts with a dash as a flag, not as this one's value.
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('-'))) throw new NotLean()
      given.set(name, value)
    }
    const argNames = Object.keys(command.args ?? {})
    // Words beyond the arguments: a usage error, unless the command takes them (strict: false), as oclif does.
    if (
      (command.strict !== false && positional.length > argNames.length) ||
      argNames.some((name, place) => command.args![name].required && positional[place] === undefined)
    )
      throw new NotLean()
    const flags: Record<string, unknown> = {}
    for (const [name, flag] of Object.entries(definitions)) {
      const value = given.get(name)
      if (value === undefined) {
        if (flag.default !== undefined)
          flags[name] = typeof flag.default === 'function' ? await (flag.default as (context: object) => unknown)({flags, options: flag}) : flag.default
      } else if (value === true || !flag.parse) {
        if (flag.options && !flag.options.includes(value as string)) throw new NotLean()
        flags[name] = value
      } else {
        try {
          flags[name] = await flag.parse(value, this, {...flag, name})
        } catch {
          throw new NotLean()
        }
      }
    }
    return {args: Object.fromEntries(argNames.map((name, place) => [name, positional[place]])), flags, argv: positional}
  }
}
