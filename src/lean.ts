// The lean start-up (dist/lean.cjs): the one-shot commands of a cron line or a script's loop, which
// run once and stop, as their own oclif command classes on a small parser (cli/lean-oclif.ts) and
// etcd's JSON gateway (etcd/gateway.ts), so that a process loads neither oclif nor gRPC. The build
// gives this bundle those two modules in place of '@oclif/core' and 'etcd3'. Whatever the lean path
// does not take (help, a usage error, a stream), it hands back before doing anything, and bin/run.cjs
// runs the whole command line on oclif (src/main.ts).
import {arch, release} from 'node:os'
import {runWithoutOclif} from './cli/lean-start.js'
import Pause from './commands/pause.js'
import Resume from './commands/resume.js'
import Runs from './commands/runs.js'
import WhoLeads from './commands/who-leads.js'

declare const ELECT_VERSION: string

/** The commands this bundle runs; bin/run.cjs names the same (a unit test holds them together). */
export const LEAN_COMMANDS = {pause: Pause, resume: Resume, runs: Runs, 'who-leads': WhoLeads}

/** Flags whose command holds a stream open, which the gateway does not serve (see NeedsGrpc): declined before the command starts, as it prints before it watches. */
const STREAMING_FLAGS: Record<string, string[]> = {'who-leads': ['--watch']}

/** Runs the command line (argv after the script) and returns its exit code, or undefined: oclif is to run it. */
export async function run(argv: string[]): Promise<number | undefined> {
  const [id, ...rest] = argv
  if (id === '--version') return version()
  if (STREAMING_FLAGS[id]?.some((flag) => rest.includes(flag))) return undefined
  return runWithoutOclif(LEAN_COMMANDS, argv)
}

/** oclif's --version line (its config's userAgent); on WSL, which oclif names as a platform of its own, oclif says it. */
function version(): number | undefined {
  if (release().toLowerCase().includes('microsoft')) return undefined
  process.stdout.write(`elect/${ELECT_VERSION} ${process.platform}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}\n`)
  return 0
}
