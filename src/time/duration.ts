const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** Parses `500ms`, `10s`, `2m`, `1h`, `30d`, `1.5s`, or a bare number of seconds, into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  if (!match) throw new Error(`"${text}" is not a duration: use a number with ms, s, m, h or d, as in 500ms, 10s, 2m`)
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's'])
  if (!Number.isSafeInteger(ms)) throw new Error(`"${text}" is longer than any duration elect can keep`)
  return ms
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}
