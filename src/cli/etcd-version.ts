import {leaseBugsOf} from '../etcd/versions.js'

/**
 * The one line a leader prints on an etcd with known lease-safety bugs, unless the operator accepted
 * that very version (ELECT_ACCEPT_ETCD_VERSION): an upgrade to another affected version warns again.
 */
export function leaseSafetyWarning(version: string | undefined, accepted = process.env.ELECT_ACCEPT_ETCD_VERSION): string | undefined {
  if (version === undefined || version === accepted) return undefined
  const bugs = leaseBugsOf(version)
  if (bugs.length === 0) return undefined
  const named = bugs.map((bug) => `${bug.issue}, ${bug.what} (fixed in ${bug.fixedIn.join(', ')})`).join('; ')
  return `etcd ${version} has known bugs that can end a lease early, so that another server leads while this one still runs: ${named}. Upgrade etcd, or set ELECT_ACCEPT_ETCD_VERSION=${version} to hear this no more`
}

let warned = false

/** Says the warning, once in this process, where `version` calls for one. */
export function warnOfLeaseBugs(version: string, say: (line: string) => void): void {
  const warning = leaseSafetyWarning(version)
  if (!warning || warned) return
  warned = true
  say(warning)
}
