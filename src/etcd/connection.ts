import {readFileSync} from 'node:fs'
import type {Etcd3, IOptions, IWatchRequest, IWatchResponse} from 'etcd3'
import {EtcdUnavailableError} from './errors.js'
import {coolingHosts, retryRecoverable} from './retry.js'

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
