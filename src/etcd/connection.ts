import {readFileSync} from 'node:fs'
import type {Etcd3, IOptions, IWatchRequest, IWatchResponse} from 'etcd3'
import {monotonicMs} from '../time/clock.js'

export interface ConnectionOptions {
  endpoints: string[]
  caFile?: string
  certFile?: string
  keyFile?: string
  user?: string
  password?: string
  dialTimeoutMs: number
  commandTimeoutMs: number
}

/** etcd could not be used at all: unreachable, refused our credentials, or TLS failed. Exit 69. */
export class EtcdUnavailableError extends Error {}

/**
 * A client whose every unary call has a deadline. Until etcd first answers, each try at an endpoint
 * has the whole dial timeout, as etcdctl's dial has: on a slow link a first call costs a TCP
 * handshake, HTTP/2's and (with auth) a login before its own round trip, so a share of it (the dial
 * timeout over the endpoints) failed everywhere at 5 endpoints 200 ms away, where etcdctl answered.
 * Afterwards each try has its share of the command timeout. etcd3's circuit breaker is replaced by a
 * retry over the endpoints that passes over failing ones for a second (coolingHosts), since a breaker
 * that stays open after etcd is back would make a healthy cluster look dead.
 */
export async function connect(options: ConnectionOptions): Promise<Etcd3> {
  const {Etcd3} = await import('etcd3')
  const attempts = Math.max(2, options.endpoints.length)
  let answered = false
  const perAttemptMs = () => Math.max(200, answered ? options.commandTimeoutMs / attempts : options.dialTimeoutMs)
  const tls = usesTls(options)
  const etcdOptions: IOptions = {
    hosts: options.endpoints.map((endpoint) => (tls && !endpoint.includes('://') ? `https://${endpoint}` : endpoint)),
    // gRPC waits 1 s, then 1.6 s, 2.6 s... before reconnecting to a member that was down; a member
    // back from a restart would answer renewals up to seconds late, eating into the fencing window.
    grpcOptions: {'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000},
    defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + perAttemptMs()}),
    faultHandling: {
      host: coolingHosts(options.endpoints.length),
      global: retryRecoverable(attempts, () => (answered = true)),
    },
  }
  if (tls) {
    etcdOptions.credentials = {
      // Without --cacert, the system's trusted roots verify the server.
      rootCertificate: (options.caFile ? readCredentialFile(options.caFile, 'CA certificate') : null) as Buffer,
      certChain: options.certFile ? readCredentialFile(options.certFile, 'client certificate') : undefined,
      privateKey: options.keyFile ? readCredentialFile(options.keyFile, 'client key') : undefined,
    }
  }
  if (options.user) etcdOptions.auth = {username: options.user, password: options.password ?? ''}
  const client = new Etcd3(etcdOptions)
  if (options.user) authenticateEachWatchStream(client)
  connections.set(client, options)
  return client
}

const connections = new WeakMap<Etcd3, ConnectionOptions>()

/** What a client was connected with (see connect()). */
export function connectionOf(client: Etcd3): ConnectionOptions | undefined {
  return connections.get(client)
}

/**
 * Whether what this client may do can be taken away while it runs: it logs in as a user, or presents
 * a certificate whose common name etcd, with auth on, takes for one. Without either it has nothing to revoke.
 */
export function mayLoseAccess(client: Etcd3): boolean {
  const options = connections.get(client)
  return Boolean(options?.user || options?.certFile)
}

/**
 * etcd refused this client's credentials or its role's rights: no retry mends it (a token etcd forgot
 * is not that: a new login mends it, see isTokenRefused). Returns the reason in an operator's words,
 * for a holder that can no longer prove it leads.
 */
export function credentialsRefused(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined
  const said = `${error.constructor.name} ${error.message}`
  if (/AuthenticationFailed|authentication failed/i.test(said)) return "etcd no longer accepts this user's password"
  if (/UserNotFound|user name not found/i.test(said)) return 'the user no longer exists in etcd'
  if (/PermissionDenied|permission denied/i.test(said)) return "etcd denies this user access: its role no longer grants the election's keys"
  return undefined
}

/** etcd forgot the token this client logged in with (it expired, etcd restarted, the password changed): log in again. */
export function isTokenRefused(error: unknown): boolean {
  return error instanceof Error && /InvalidAuthToken|invalid auth token/i.test(`${error.constructor.name} ${error.message}`)
}

/**
 * Makes the next stream this client opens log in afresh. etcd3 does so for a unary call refused for
 * its token (lib/connection-pool.js), never for a stream: a keepalive stream would be refused for
 * ever with the token etcd forgot (a password change invalidates the user's tokens).
 */
export function forgetToken(client: Etcd3): void {
  ;(client as unknown as {pool: {authenticator: {invalidateMetadata(): void}}}).pool.authenticator.invalidateMetadata()
}

/**
 * etcd3 opens watch streams with the token it cached at first login; once that token expired (or etcd
 * restarted, which forgets tokens) a new watch stream is refused and silently dropped. Logging in
 * afresh for each watch stream (election/watch.ts opens one per wait) keeps watches alive.
 */
function authenticateEachWatchStream(client: Etcd3): void {
  const internals = client as unknown as {watchClient: {watch(options?: unknown): Promise<unknown>}}
  const openStream = internals.watchClient.watch.bind(internals.watchClient)
  internals.watchClient.watch = (options) => {
    forgetToken(client)
    return openStream(options)
  }
}

export interface WatchStream {
  write(request: IWatchRequest): unknown
  end(): unknown
  cancel(): void
  on(event: 'data', listener: (response: IWatchResponse) => void): unknown
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown
}

/** A raw Watch stream of etcd3's connection pool (endpoints, TLS and auth as for every other call), bypassing its watch manager (see election/watch.ts). */
export function openWatchStream(client: Etcd3): Promise<WatchStream> {
  return (client as unknown as {watchClient: {watch(): Promise<WatchStream>}}).watchClient.watch()
}

/**
 * Cancels a stream of ours (a watch, a keepalive round) that has served its purpose. etcd3 takes an
 * error on a stream that is still writable for a failure of the member, and closes every channel to
 * it: each later call would wait for a new connection (test/README.md's "Where the time goes"). Ending
 * our side first makes the cancel what it is: ours.
 */
export function cancelStream(stream: {end(): unknown; cancel(): void}): void {
  stream.end()
  stream.cancel()
}

export function usesTls(options: ConnectionOptions): boolean {
  return Boolean(options.caFile || options.certFile || options.endpoints.some((endpoint) => endpoint.startsWith('https://')))
}

function readCredentialFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new EtcdUnavailableError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
}

// The minimal shape of a cockatiel policy that etcd3 calls: execute(fn) and nothing else.
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>

class HostCooling extends Error {}

/**
 * Per-endpoint policies: an endpoint whose call failed transiently (a dead or unreachable member)
 * is passed over for a second, unless every endpoint is, so retries and keepalives go to members that
 * answer instead of picking the dead one again at random. etcd3 moves on to the next endpoint when a
 * policy refuses to call through. (Async, so that a synchronous throw becomes a rejection: etcd3 calls
 * .catch() on the result.)
 */
function coolingHosts(count: number, coolMs = 1000): (host: string) => Policy {
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
function retryRecoverable(attempts: number, onSuccess: () => void): Policy {
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

const TRANSIENT = /GRPCUnavailable|GRPCDeadlineExceeded|GRPCConnectFailed|GRPCInternal/

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

/** etcd refuses writes until an operator frees space: its NOSPACE alarm is raised (reads, deletes and keepalives still work). */
export function isOutOfSpace(error: unknown): boolean {
  return error instanceof Error && /database space exceeded|NOSPACE/i.test(error.message)
}

const OUT_OF_SPACE = "etcd's database is full (alarm NOSPACE): compact and defragment etcd, then disarm the alarm (etcdctl alarm disarm)"

/** Why etcd refused a write or a read, in an operator's words, whatever the cause (no gRPC status text). */
export function refusalOf(error: unknown): string {
  if (isOutOfSpace(error)) return OUT_OF_SPACE
  const refused = credentialsRefused(error)
  if (refused) return refused
  if (isTransient(error)) return `etcd did not answer (${grpcCause((error as Error).message)})`
  return error instanceof Error ? grpcCause(error.message) : String(error)
}

/** etcd could not be reached or did not answer in time: worth trying again, perhaps elsewhere. */
export function isTransient(error: unknown): boolean {
  return error instanceof HostCooling || (error instanceof Error && TRANSIENT.test(error.constructor.name))
}

/** etcd says the lease is gone (revoked, or expired): what a revoke wanted, and a leadership that is over. */
export function isLeaseGone(error: unknown): boolean {
  return /lease not found|LeaseInvalid/i.test(error instanceof Error ? `${error.constructor.name} ${error.message}` : String(error))
}

/**
 * Turns what etcd3 throws into the one-line reason a user needs, when the cause is that etcd
 * can't be used at all; returns undefined for every other error.
 */
export function describeUnavailable(error: unknown, endpoints: string[], tls: boolean): string | undefined {
  if (!(error instanceof Error)) return undefined
  if (error instanceof EtcdUnavailableError) return error.message
  const kind = error.constructor.name
  const cause = grpcCause(error.message)
  const where = endpoints.join(',')
  if (/AuthenticationFailed|UserNotFound/.test(kind) || /authentication failed|invalid auth token/i.test(cause))
    return `etcd at ${where} refused the credentials (user name or password is wrong)`
  if (/user name is empty/i.test(cause)) return `etcd at ${where} has auth enabled: give a user (--user, ELECT_USER, or in /etc/elect/elect.env)`
  if (/authentication is not enabled/i.test(cause)) return `etcd at ${where} has no auth enabled, and a user was given: drop --user (ELECT_USER)`
  if (/PermissionDenied/.test(kind) || /permission denied/i.test(cause))
    return `etcd at ${where} denied access: the user's role does not grant this key range (see --prefix)`
  if (isOutOfSpace(error)) return `etcd at ${where} refuses writes: ${OUT_OF_SPACE}`
  const tlsFailure = TLS_FAILURES.find(([pattern]) => pattern.test(cause))
  if (tlsFailure) return `TLS with etcd at ${where} failed: ${tlsFailure[1]}`
  // A plain server answers a TLS hello by closing or by resetting the connection: same cause.
  if (tls && /^ECONNRESET/.test(cause)) return `TLS with etcd at ${where} failed: ${PLAIN_SERVER}`
  // Something listens but would not speak plain gRPC: most likely a TLS port.
  if (!tls && cause === 'Failed to connect') return `etcd at ${where} did not answer plain gRPC (if it serves TLS, give --cacert)`
  if (isTransient(error) || /BrokenCircuit|ECONNREFUSED|No connection established/i.test(kind + error.message))
    return `etcd is unreachable at ${where}: ${cause}`
  return undefined
}

const PLAIN_SERVER = 'the server did not answer TLS (is it plain? then drop --cacert/--cert and https://)'

const TLS_FAILURES: Array<[RegExp, string]> = [
  [
    /unable to verify|self.signed|certificate verify failed|unable to get (local )?issuer/i,
    "the server's certificate is not trusted (give the CA that signed it with --cacert)",
  ],
  [/does not match certificate|altnames|Hostname\/IP does not match/i, "the server's certificate is not for this host name or address"],
  [
    /alert (bad certificate|certificate required|unknown ca|handshake failure)/i,
    'the server refused our client certificate, or wanted one (give --cert and --key)',
  ],
  [/before secure TLS connection|wrong version number|packet length too long|SSL routines/i, PLAIN_SERVER],
]

/** gRPC wraps the cause: "14 UNAVAILABLE: No connection established. Last error: Error: <cause> (<time>). Resolution note: ...". */
function grpcCause(message: string): string {
  const line = message.split('\n')[0].replace(/^\d+ [A-Z_]+: /, '')
  const lastError = /Last error: (?:Error: )?(.*?)(?: \(\d{4}-[^)]*\))?\.? Resolution note/.exec(line)?.[1] ?? line
  const socketError = /(ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|ECONNRESET) ?[^\s]*/.exec(lastError)
  if (socketError) return socketError[0].replace(/[.,;]+$/, '')
  if (/deadline exceeded/i.test(lastError)) return 'no answer before the deadline'
  return lastError.replace(/^[0-9A-F]+:error:[0-9A-F]+:/, '')
}
