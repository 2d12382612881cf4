import {accessSync, constants, readFileSync, renameSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import type {RunRecord} from '../jobs/records.js'

const METRICS = {
  elect_last_run_start_timestamp_seconds: 'When the last run of the job on this server started, in Unix time.',
  elect_last_run_end_timestamp_seconds: 'When the last run of the job on this server ended, in Unix time.',
  elect_last_run_duration_seconds: 'How long the last run of the job on this server took.',
  elect_last_run_exit_status: 'The exit status of the last run of the job on this server (75: leadership lost).',
  elect_last_run_success: '1 if the last run of the job on this server succeeded, else 0.',
  elect_last_skip_timestamp_seconds: 'When this server last skipped the job (another led, or the slot had run), in Unix time.',
} as const
type Metric = keyof typeof METRICS

/**
 * A Prometheus text-format file for node_exporter's textfile collector, one per job and server:
 * replaced whole (a temporary file beside it, then a rename), so the collector never reads half of
 * it. What an update leaves out keeps its value from the file as it was.
 */
export class MetricsFile {
  private readonly labels: string

  constructor(
    readonly path: string,
    labels: {name: string; job: string},
  ) {
    this.labels = `name="${escapeLabel(labels.name)}",job="${escapeLabel(labels.job)}"`
  }

  /** Why the file could not be written, if it could not: checked before the job may run. */
  whyUnwritable(): string | undefined {
    try {
      if (statSync(this.path, {throwIfNoEntry: false})?.isDirectory()) return 'it is a directory'
      accessSync(dirname(this.path), constants.W_OK)
      return undefined
    } catch (error) {
      return `${(error as NodeJS.ErrnoException).code ?? String(error)} on its directory`
    }
  }

  ran(record: RunRecord): void {
    const seconds = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : Number.NaN)
    this.update({
      elect_last_run_start_timestamp_seconds: seconds(record.startedAt),
      elect_last_run_end_timestamp_seconds: seconds(record.endedAt),
      elect_last_run_duration_seconds: (record.durationMs ?? Number.NaN) / 1000,
      elect_last_run_exit_status: record.status ?? Number.NaN,
      elect_last_run_success: record.outcome === 'succeeded' ? 1 : 0,
    })
  }

  skipped(at = new Date()): void {
    this.update({elect_last_skip_timestamp_seconds: at.getTime() / 1000})
  }

  private update(values: Partial<Record<Metric, number>>): void {
    const merged = {...this.read(), ...values}
    const lines = (Object.keys(METRICS) as Metric[])
      .filter((metric) => merged[metric] !== undefined)
      .flatMap((metric) => [`# HELP ${metric} ${METRICS[metric]}`, `# TYPE ${metric} gauge`, `${metric}{${this.labels}} ${merged[metric]}`])
    const temporary = `${this.path}.${process.pid}.tmp`
    try {
      writeFileSync(temporary, `${lines.join('\n')}\n`)
      renameSync(temporary, this.path)
    } catch (error) {
      try {
        unlinkSync(temporary)
      } catch {
        // never written
      }
      throw error
    }
  }

  /** The values this file holds now (of this job's labels), to keep what an update leaves out. */
  private read(): Partial<Record<Metric, number>> {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch {
      return {}
    }
    const values: Partial<Record<Metric, number>> = {}
    for (const line of text.split('\n')) {
      const sample = /^(elect_\w+)\{(.*)\} (\S+)$/.exec(line)
      if (sample && sample[1] in METRICS && sample[2] === this.labels) values[sample[1] as Metric] = Number(sample[3])
    }
    return values
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
