/** The signals that ask a run to end; anything else keeps its default. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

type Handler = (signal: NodeJS.Signals) => void

/**
 * Calls `handler` on every stop signal until the returned function is called. Every one, not the
 * first: a second Ctrl-C or SIGTERM while a command stops its jobs must not meet the default death,
 * which would leave its key leading until its lease ran out.
 */
export function onStopSignals(handler: Handler): () => void {
  for (const signal of SIGNALS) process.on(signal, handler)
  return () => {
    for (const signal of SIGNALS) process.off(signal, handler)
  }
}

/**
 * A run's signals from its first lease until its release, which must never meet the default death.
 * Before the command runs, the first one is kept (`caught`) and withdraws the candidacy; once the
 * command runs, every one goes to its supervision, starting with one that came while it was started.
 */
export class RunSignals {
  /** The first signal that came before the command ran. */
  caught?: NodeJS.Signals
  private onCaught?: Handler
  private stopListening?: () => void
  private running?: Handler
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.running) return this.running(signal)
    if (this.caught) return
    this.caught = signal
    this.onCaught?.(signal)
  }

  listen(): void {
    this.stopListening = onStopSignals(this.onSignal)
  }

  unlisten(): void {
    this.stopListening?.()
  }

  /** Calls `handler` with the first signal, now if one came already; returns what stops that. */
  whileWaiting(handler: Handler): () => void {
    this.onCaught = handler
    if (this.caught) handler(this.caught)
    return () => {
      if (this.onCaught === handler) this.onCaught = undefined
    }
  }

  /** From now on every signal goes to `handler`, starting with one that came before. */
  whileRunning(handler: Handler): void {
    this.running = handler
    if (this.caught) handler(this.caught)
  }
}
