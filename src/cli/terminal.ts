/**
 * Colour and spinners only for a person at a real terminal: never with --json, NO_COLOR, TERM=dumb,
 * in CI, or on a terminal that reports no width (ora spins at 100% CPU there).
 */
export function isInteractive(stream: NodeJS.WriteStream, json = false): boolean {
  const env = process.env
  return Boolean(!json && stream.isTTY && (stream.columns ?? 0) > 0 && env.NO_COLOR === undefined && env.TERM !== 'dumb' && !env.CI)
}

export interface Spinner {
  stop(): void
}

export async function startSpinner(text: string): Promise<Spinner> {
  if (!isInteractive(process.stderr)) return {stop() {}}
  const {default: ora} = await import('ora')
  const spinner = ora({text, stream: process.stderr}).start()
  return {stop: () => spinner.stop()}
}

export async function highlight(text: string): Promise<string> {
  if (!isInteractive(process.stdout)) return text
  const {Chalk} = await import('chalk')
  return new Chalk({level: 1}).bold(text)
}
