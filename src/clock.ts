/**
 * Milliseconds on CLOCK_MONOTONIC. Every process on the machine reads the same clock, so a deadline
 * computed here means the same instant to the guard process; wall-clock jumps cannot move it.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}
