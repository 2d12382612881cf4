// The lean start-up of run-if-leader (dist/lean-run.cjs), the command every server's crontab fires:
// its own command class on the small parser (cli/lean-oclif.ts) in place of oclif, but on etcd3,
// whose streams a run needs (its lease's keepalive, its leadership's watch). What the parser does
// not take as oclif would, it hands back before doing anything (see src/lean.ts).
import {runWithoutOclif} from './cli/lean-start.js'
import RunIfLeader from './commands/run-if-leader.js'

/** The commands this bundle runs; bin/run.cjs names the same (a unit test holds them together). */
export const LEAN_COMMANDS = {'run-if-leader': RunIfLeader}

/** Runs the command line (argv after the script) and returns its exit code, or undefined: oclif is to run it. */
export function run(argv: string[]): Promise<number | undefined> {
  return runWithoutOclif(LEAN_COMMANDS, argv)
}
