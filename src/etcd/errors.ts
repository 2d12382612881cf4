// What etcd3 throws, told apart (transient, a lease gone, credentials refused, a full database), and
// said in the one line an operator can act on: no gRPC status text reaches a user.
/** etcd could not be used at all: unreachable, refused our credentials, or TLS failed. Exit 69. */
export class EtcdUnavailableError extends Error {}

export class HostCooling extends Error {}

const TRANSIENT = /GRPCUnavailable|GRPCDeadlineExceeded|GRPCConnectFailed|GRPCInternal/

/** etcd could not be reached or did not answer in time: worth trying again, perhaps elsewhere. */
export function isTransient(error: unknown): boolean {
  return error instanceof HostCooling || (error instanceof Error && TRANSIENT.test(error.constructor.name))
}

/** etcd says the lease is gone (revoked, or expired): what a revoke wanted, and a leadership that is over. */
export function isLeaseGone(error: unknown): boolean {
  return /lease not found|LeaseInvalid/i.test(error instanceof Error ? `${error.constructor.name} ${error.message}` : String(error))
}

/** etcd forgot the token this client logged in with (it expired, etcd restarted, the password changed): log in again. */
export function isTokenRefused(error: unknown): boolean {
  return error instanceof Error && /InvalidAuthToken|invalid auth token/i.test(`${error.constructor.name} ${error.message}`)
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
