export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  /** who-leads: nobody leads, or not the one --is names. */
  noLeader: 3,
  /** resign: the one to resign does not lead. */
  nothingToResign: 3,
  /** runs --succeeded-within: no run succeeded in the window. */
  noSuccess: 3,
  /** check: a check of this server (not of etcd) failed. */
  notReady: 3,
  unavailable: 69,
  lost: 75,
  timedOut: 124,
  /** run-if-leader: the command ran for its --max-runtime and was stopped. */
  overran: 125,
  notExecutable: 126,
  notFound: 127,
} as const

/** Text for each command's --help, so help and the README's table can't drift apart. */
export const EXIT_CODES_HELP: Record<number | string, string> = {
  0: 'success; for run-if-leader also a skip (another leads, the slot already ran, a pause; see --skip-exit-code)',
  1: 'unexpected error',
  2: 'usage error',
  3: 'no leader, or not the one --is names (who-leads); nothing to resign (resign); no run succeeded within --succeeded-within (runs); a check failed (check)',
  69: 'etcd unreachable, credentials refused, TLS failed, etcd out of space (alarm NOSPACE), or (check) the role lacks a right',
  75: 'leadership lost while the command ran (it was stopped), or the lease lost while waiting',
  124: '--wait/--timeout ran out before leadership was won; resign not acknowledged in time',
  125: 'the command ran for its --max-runtime and was stopped',
  126: 'command not executable',
  127: 'command not found',
  '128+n': 'command killed by signal n, which elect did not send',
  other: "the command's own exit status",
}

/** An expected failure: one line for the user, and the exit code that says what kind. */
export class ElectError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

export class UsageError extends ElectError {
  constructor(message: string) {
    super(message, ExitCode.usage)
  }
}
