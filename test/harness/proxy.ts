// A TCP proxy on loopback whose link can be cut the way a network partition cuts it: connections
// stay open, but nothing gets through in either direction (held, not dropped) until it is healed.
// It forwards in a child process (proxy-process.cjs): in the test's own process, a synchronous
// /proc scan or etcdctl call held up the proxied elect's traffic on a busy machine, as a partition
// the test never made.
import {type ChildProcess, spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const script = join(dirname(fileURLToPath(import.meta.url)), 'proxy-process.cjs')

export class TcpProxy {
  /** Connections accepted since the start. */
  accepted = 0
  private waiting = new Map<string, () => void>()

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
  ) {}

  /** A proxy to `target`; with `oneWayDelayMs`, a slow link (a round trip of twice that). */
  static async start(target: string, oneWayDelayMs = 0): Promise<TcpProxy> {
    const child = spawn(process.execPath, [script, target, String(oneWayDelayMs)], {stdio: ['pipe', 'pipe', 'inherit']})
    // Set once the port is known; the lines before it (a connection accepted early) find it unset.
    // eslint-disable-next-line prefer-const
    let proxy: TcpProxy | undefined
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = ''
      child.once('exit', (code) => reject(new Error(`the proxy exited (${code}) before it listened`)))
      child.stdout.setEncoding('utf8')
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk
        for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
          const line = buffered.slice(0, newline)
          buffered = buffered.slice(newline + 1)
          if (line.startsWith('port ')) resolve(Number(line.slice(5)))
          else if (line === 'accepted' && proxy) proxy.accepted++
          else proxy?.answered(line)
        }
      })
    })
    proxy = new TcpProxy(child, `127.0.0.1:${port}`)
    return proxy
  }

  /** Holds everything from now on, in both directions, until heal(). */
  cut(): Promise<void> {
    return this.tell('cut')
  }

  /** Lets through what was held, and all that follows. */
  heal(): Promise<void> {
    return this.tell('heal')
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGKILL')
    await exited
  }

  private tell(command: string): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.set(command, resolve)
      this.child.stdin!.write(`${command}\n`)
    })
  }

  private answered(command: string): void {
    this.waiting.get(command)?.()
    this.waiting.delete(command)
  }
}
