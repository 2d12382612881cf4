import {readFileSync} from 'node:fs'
import type {Etcd3, IOptions} from 'etcd3'

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
 * A client whose every unary call has a deadline: the dial timeout until etcd first answers, then
 * the command timeout. etcd3's circuit breaker is replaced by a plain retry over the endpoints,
 * since a breaker that stays open after etcd is back would make a healthy cluster look dead.
 */
export async function connect(options: ConnectionOptions): Promise<Etcd3> {
  const {Etcd3} = await import('etcd3')
  const attempts = Math.max(2, options.endpoints.length)
  let answered = false
  const perAttemptMs = () => Math.max(200, (answered ? options.commandTimeoutMs : options.dialTimeoutMs) / attempts)
  const etcdOptions: IOptions = {
    hosts: options.endpoints.map((endpoint) => (options.caFile && !endpoint.includes('://') ? `https://${endpoint}` : endpoint)),
    defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + perAttemptMs()}),
    faultHandling: {
      host: () => passThrough,
      global: retryRecoverable(attempts, () => (answered = true)),
      watchBackoff: cappedBackoff(100, 1000),
    },
  }
  if (options.caFile || options.certFile) {
    etcdOptions.credentials = {
      rootCertificate: readCredentialFile(options.caFile, 'CA certificate'),
      certChain: options.certFile ? readCredentialFile(options.certFile, 'client certificate') : undefined,
      privateKey: options.keyFile ? readCredentialFile(options.keyFile, 'client key') : undefined,
    }
  }
  if (options.user) etcdOptions.auth = {username: options.user, password: options.password ?? ''}
  return new Etcd3(etcdOptions)
}

function readCredentialFile(path: string | undefined, what: string): Buffer {
  if (!path) return Buffer.alloc(0)
  try {
    return readFileSync(path)
  } catch (error) {
    throw new EtcdUnavailableError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}

// The minimal shape of a cockatiel policy that etcd3 calls: execute(fn) and nothing else.
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>

// Async, so that a synchronous throw becomes a rejection: etcd3 calls .catch() on the result.
const passThrough = {execute: async (fn: () => unknown) => fn()} as unknown as Policy

function retryRecoverable(attempts: number, onSuccess: () => void): Policy {
  return {
    async execute(fn: () => Promise<unknown>) {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await fn()
          onSuccess()
          return result
        } catch (error) {
          if (attempt >= attempts || !isTransient(error)) throw error
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
        }
      }
    },
  } as unknown as Policy
}

function cappedBackoff(ms: number, capMs: number) {
  return {duration: ms, next: () => cappedBackoff(Math.min(ms * 2, capMs), capMs)}
}

const TRANSIENT = /GRPCUnavailable|GRPCDeadlineExceeded|GRPCConnectFailed|GRPCInternal/

function isTransient(error: unknown): boolean {
  return error instanceof Error && TRANSIENT.test(error.constructor.name)
}

/**
 * Turns what etcd3 throws into the one-line reason a user needs, when the cause is that etcd
 * can't be used at all; returns undefined for every other error.
 */
export function describeUnavailable(error: unknown, endpoints: string[]): string | undefined {
  if (!(error instanceof Error)) return undefined
  if (error instanceof EtcdUnavailableError) return error.message
  const kind = error.constructor.name
  const message = error.message
  const where = endpoints.join(',')
  if (/AuthenticationFailed|UserNotFound/.test(kind) || /authentication failed|invalid auth token/i.test(message))
    return `etcd at ${where} refused the credentials (user name or password is wrong)`
  if (/PermissionDenied/.test(kind) || /permission denied/i.test(message))
    return `etcd at ${where} denied access: the user's role does not grant this key range`
  if (/SSL|TLS|certificate|handshake|wrong version number/i.test(message))
    return `TLS with etcd at ${where} failed: ${firstLine(message)}`
  if (isTransient(error) || /BrokenCircuit|ECONNREFUSED|No connection established/i.test(kind + message))
    return `etcd is unreachable at ${where}: ${firstLine(message)}`
  return undefined
}

function firstLine(text: string): string {
  const line = text.split('\n')[0].replace(/^\d+ [A-Z_]+: /, '')
  // gRPC wraps the cause ("No connection established. Last error: Error: connect ECONNREFUSED ...").
  const cause = /(ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|ECONNRESET) ?[^\s]*/.exec(line)
  if (cause) return cause[0].replace(/[.,;]+$/, '')
  if (/deadline exceeded/i.test(line)) return 'no answer before the deadline'
  return line
}
