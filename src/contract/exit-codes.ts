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
  /** holds: the leadership a job runs under no longer holds. */
  noLongerHolds: 3,
  unavailable: 69,
  lost: 75,
  timedOut: 124,
  /** run-if-leader: the command ran for its --max-runtime and was stopped. */
  overran: 125,
  notExecutable: 126,
  notFound: 127,
} as const

/** What an exit code means, by code: a command's own --help says it in its own words (exitCodes()). */
export type ExitCodeTexts = Record<string, string>

/** What each code means whichever command exits with it: elect --help lists these, and the README's table. */
export const EXIT_CODES_HELP: ExitCodeTexts = {
  0: 'success; for run-if-leader also a skip (another leads, the slot ran, a pause)',
  1: 'unexpected error',
  2: 'usage error',
  3: 'the answer is no: no such leader (who-leads), nothing to resign (resign), no run succeeded within --succeeded-within (runs), a check failed (check), the leadership no longer holds (holds)',
  69: 'etcd unreachable or full (alarm NOSPACE), credentials or TLS refused',
  75: 'leadership lost while the command ran (it was stopped), or the lease lost while waiting',
  124: '--wait/--timeout ran out before leadership was won; resign not acknowledged in time',
  125: 'the command ran for its --max-runtime and was stopped',
  126: 'command not executable',
  127: 'command not found',
  '128+n': 'command killed by signal n, which elect did not send',
  other: "the command's own exit status",
}

/**
 * A command's exit codes for its --help (its static exitCodes), in the order of EXIT_CODES_HELP: the
 * `general` ones in their general words, the `own` ones in the command's.
 */
export function exitCodes(general: Array<number | string>, own: ExitCodeTexts = {}): ExitCodeTexts {
  const texts: ExitCodeTexts = {}
  for (const code of Object.keys(EXIT_CODES_HELP)) {
    const text = own[code] ?? (general.map(String).includes(code) ? EXIT_CODES_HELP[code] : undefined)
    if (text !== undefined) texts[code] = text
  }
  return texts
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
