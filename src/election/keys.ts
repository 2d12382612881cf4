// The key layout is etcd's Go concurrency.Election layout, so etcdctl elect and elect share queues.
// Everything else elect stores sits beside the election prefix, behind a ':' that names can't contain,
// so it never counts as a candidate and can't collide with another election's keys.
import {leaseHex} from '../lease/leases.js'

/** Between a job's running marker and the number of its slot (below every name character). */
const SLOT_MARK = '#'

const NAME = '[A-Za-z0-9._-]{1,128}'
const NAME_PATTERN = new RegExp(`^${NAME}$`)
/** What follows the prefix in every key of an election: its name, then '/' (a candidate) or ':' (everything beside). */
const AFTER_PREFIX = new RegExp(`^${NAME}[/:]`)

export function validateName(name: string, what = 'election name'): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`invalid ${what} "${name}": use 1-128 characters of A-Z a-z 0-9 . _ - (no "/", which would nest one inside another)`)
  }
}

export class ElectionKeys {
  /** Whether `key` is one elect keeps for some election under `prefix`: its candidates and everything beside them. */
  static isElectionKey(prefix: string, key: string): boolean {
    return key.startsWith(prefix) && AFTER_PREFIX.test(key.slice(prefix.length))
  }

  /** Whether `key` belongs to the election of the candidate key `candidateKey`: `<prefix><name>/` or `<prefix><name>:`. */
  static isKeyOfElectionOf(candidateKey: string, key: string): boolean {
    const candidates = candidateKey.slice(0, candidateKey.lastIndexOf('/') + 1)
    return key.startsWith(candidates) || key.startsWith(`${candidates.slice(0, -1)}:`)
  }

  constructor(
    readonly prefix: string,
    readonly name: string,
  ) {}

  /** Every candidate of this election, the leader first by create revision. */
  get candidates(): string {
    return `${this.prefix}${this.name}/`
  }

  candidate(leaseId: string): string {
    return `${this.candidates}${leaseHex(leaseId)}`
  }

  /** Asks the holder of `leaseId` to step down; the request lives and dies with that lease. */
  resignRequest(leaseId: string): string {
    return `${this.prefix}${this.name}:resign/${leaseHex(leaseId)}`
  }

  /**
   * Held while a job runs, on a lease of its own. The next run of the job (on this leader or the
   * next) starts only once this is gone, which happens only when the old run's command is dead or
   * its lease ended. The job without --job is the election's own: `<name>:running`.
   */
  running(job?: string, slot = 0): string {
    return `${this.runningJobs}${job === undefined ? '' : `/${job}`}${slot === 0 ? '' : `${SLOT_MARK}${slot}`}`
  }

  /**
   * Every running marker of one job, in an election of several holders: slot 0 is running(job),
   * slot k running(job) + "#k". '#' sorts below every character a name may hold, so this range holds
   * no other job's marker.
   */
  runningSlots(job?: string): {key: string; rangeEnd: Buffer} {
    const key = this.running(job)
    return {key, rangeEnd: Buffer.from(`${key}${String.fromCharCode(SLOT_MARK.charCodeAt(0) + 1)}`)}
  }

  /**
   * How many may hold the election at once (--holders N, when N > 1), said by each candidate on its
   * own lease: `<name>:holders/<N>/<lease>`. N is in the key, so a transaction can require that no
   * candidate says another N (an empty range), which it cannot of values.
   */
  holderLimit(holders: number, leaseId: string): string {
    return `${this.holderLimits(holders)}${leaseHex(leaseId)}`
  }

  /** Every candidate's limit key; with `holders`, those that say that N. */
  holderLimits(holders?: number): string {
    return `${this.prefix}${this.name}:holders/${holders === undefined ? '' : `${holders}/`}`
  }

  /** The job a running marker (`running(job, slot)`) is of: undefined for the election's own. */
  jobOfRunning(marker: string): string | undefined {
    // "", "#<slot>", "/<job>" or "/<job>#<slot>" after the election's own marker.
    const rest = marker.slice(this.runningJobs.length)
    return rest.startsWith('/') ? rest.slice(1).split(SLOT_MARK)[0] || undefined : undefined
  }

  /** Every job's running marker. */
  get runningJobs(): string {
    return `${this.prefix}${this.name}:running`
  }

  /**
   * The record of one run of a job (`id`: its run lease), kept after the run ended, with no lease:
   * `<name>:runs/<id>`, or `<name>:runs@<job>/<id>` for a --job.
   */
  runRecord(id: string, job?: string): string {
    return `${this.runRecords(job)}${leaseHex(id)}`
  }

  /** Every record of one job's runs; with `job` null, of every job's. */
  runRecords(job?: string | null): string {
    if (job === null) return `${this.prefix}${this.name}:runs`
    return `${this.prefix}${this.name}:runs${job === undefined ? '' : `@${job}`}/`
  }

  /**
   * Stands while the election (no `job`) or one job is paused: `<name>:pause`, `<name>:pause@<job>`,
   * on a lease when the pause ends by itself.
   */
  pause(job?: string): string {
    return `${this.pauses}${job === undefined ? '' : `@${job}`}`
  }

  /** Every pause of this election: its own and its jobs'. */
  get pauses(): string {
    return `${this.prefix}${this.name}:pause`
  }

  /** Marks a --once-per slot of a job as run: "<period ms>/<slot number>", or "<period ms>@<its start, epoch ms>" (see once-per.ts). */
  onceMarker(slot: string, job?: string): string {
    return `${this.prefix}${this.name}:once${job === undefined ? '' : `@${job}`}/${slot}`
  }
}

/** The end of the key range of every key that starts with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}
