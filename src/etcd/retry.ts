// The retry policy of every etcd call: over the endpoints, passing over failing ones for a while, and
// for a call that must not be lost to a blip, again until a deadline.
import type {IOptions} from 'etcd3'
import {monotonicMs} from '../time/clock.js'
import {HostCooling, isTransient} from './errors.js'

// The minimal shape of a cockatiel policy that etcd3 calls: execute(fn) and nothing else.
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>

/**
 * Per-endpoint policies: an endpoint whose call failed transiently (a dead or unreachable member)
 * is passed over for a second, unless every endpoint is, so retries and keepalives go to members that
 * answer instead of picking the dead one again at random. etcd3 moves on to the next endpoint when a
 * policy refuses to call through. (Async, so that a synchronous throw becomes a rejection: etcd3 calls
 * .catch() on the result.)
 */
export function coolingHosts(count: number, coolMs = 1000): (host: string) => Policy {
  // On the monotonic clock: a wall clock stepped back an hour must not cool a member for an hour.
  const coolUntil = new Map<string, number>()
  const allCooling = () => coolUntil.size >= count && [...coolUntil.values()].every((until) => until > monotonicMs())
  return (host) =>
    ({
      async execute(fn: () => unknown) {
        if ((coolUntil.get(host) ?? 0) > monotonicMs() && !allCooling()) throw new HostCooling(host)
        try {
          const result = await fn()
          coolUntil.delete(host)
          return result
        } catch (error) {
          if (isTransient(error)) coolUntil.set(host, monotonicMs() + coolMs)
          throw error
        }
      },
    }) as unknown as Policy
}

/** etcd3's global policy: each call tried up to `attempts` times while its failure is transient. */
export function retryRecoverable(attempts: number, onSuccess: () => void): Policy {
  return {
    async execute(fn: () => Promise<unknown>) {
      const result = await retryTransient(
        fn,
        (attempt) => 50 * attempt,
        (attempt) => attempt < attempts,
      )
      onSuccess()
      return result
    },
  } as unknown as Policy
}

/** Calls again, after `pauseMs(attempt)`, while the failure is worth it (transient) and `mayRetry` allows another. */
async function retryTransient<T>(
  call: () => Promise<T>,
  pauseMs: (attempt: number) => number,
  mayRetry: (attempt: number, pauseMs: number) => boolean,
  worthRetrying: (error: unknown) => boolean = isTransient,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      const pause = pauseMs(attempt)
      if (!worthRetrying(error) || !mayRetry(attempt, pause)) throw error
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}

/**
 * Calls again while etcd is unreachable (a member restarting, a leader being elected), for up to
 * `withinMs` in all: for what must not be lost to a blip, as a release, whose loss leaves the
 * successor to wait for the lease to expire (a whole TTL, which a restarted etcd starts anew).
 */
export async function persistently<T>(call: () => Promise<T>, withinMs: number, worthRetrying: (error: unknown) => boolean = isTransient): Promise<T> {
  const giveUpAt = monotonicMs() + withinMs
  return retryTransient(
    call,
    (attempt) => Math.min(500, 100 * attempt),
    (_attempt, pauseMs) => monotonicMs() + pauseMs < giveUpAt,
    worthRetrying,
  )
}
