// campaign as a Type=notify service: what systemd hears on $NOTIFY_SOCKET, a datagram socket this test
// listens on as systemd would (sent by the real systemd-notify, as on a server).
import {symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

// Prints each datagram as a JSON string, one per line; closes the descriptor that systemd-notify's
// barrier sends, as systemd does, so that systemd-notify returns at once.
const LISTENER = `
import json, os, socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(sys.argv[1])
print(json.dumps("listening"), flush=True)
while True:
    data, ancillary, _, _ = server.recvmsg(4096, socket.CMSG_SPACE(64))
    for level, kind, fds in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for at in range(0, len(fds) - len(fds) % 4, 4):
                os.close(int.from_bytes(fds[at:at + 4], sys.byteorder))
    print(json.dumps(data.decode()), flush=True)
`

/** A notify socket: every message systemd would have heard, each split into its assignments. */
async function notifySocket() {
  const path = join(tempDir(), 'notify.sock')
  const listener = execa('python3', ['-c', LISTENER, path], {reject: false, stdin: 'ignore'})
  const messages: string[][] = []
  let buffered = ''
  listener.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) messages.push((JSON.parse(line) as string).split('\n').filter(Boolean))
  })
  expect(await waitFor(() => messages.length > 0, 10_000)).toBe(true)
  messages.shift()
  const has = (assignment: string | RegExp) =>
    messages.some((message) => message.some((field) => (typeof assignment === 'string' ? field === assignment : assignment.test(field))))
  return {path, listener, messages, has, heard: (assignment: string | RegExp) => waitFor(() => has(assignment), 15_000)}
}

describe('campaign under systemd (NOTIFY_SOCKET)', () => {
  it('says READY once campaigning, what it does in STATUS, pets the watchdog, and STOPPING on SIGTERM', async () => {
    const name = uniqueName('systemd')
    const first = await notifySocket()
    const second = await notifySocket()
    const service = (socket: string, value: string, extra = {}) =>
      startElect(['campaign', name, '--value', value, '--ttl', '6s'], {
        env: {ELECT_RUNTIME_DIR: tempDir(), NOTIFY_SOCKET: socket, WATCHDOG_USEC: '2000000', ...extra},
      })
    const leader = service(first.path, 'web-1')
    expect(await first.heard(new RegExp(`^STATUS=leading ${name} since \\d{4}-`))).toBe(true)
    // READY comes once, with the first status.
    expect(first.messages[0]).toEqual(['READY=1', `STATUS=waiting to lead ${name}`])
    expect(first.messages.filter((message) => message.includes('READY=1'))).toHaveLength(1)
    expect(await waitFor(() => first.messages.filter((message) => message.includes('WATCHDOG=1')).length >= 2, 15_000)).toBe(true)

    // WATCHDOG_PID names another process: the watchdog is not this one's to pet.
    const waiter = service(second.path, 'web-2', {WATCHDOG_PID: '1'})
    expect(await second.heard(`STATUS=waiting to lead ${name}: web-1 leads`)).toBe(true)

    leader.kill('SIGTERM')
    expect(await first.heard('STOPPING=1')).toBe(true)
    expect(first.messages.find((message) => message.includes('STOPPING=1'))).toEqual(['STOPPING=1', `STATUS=stepping down from ${name} (SIGTERM)`])
    expect((await leader).exitCode).toBe(0)
    expect(await second.heard(new RegExp(`^STATUS=leading ${name} since `))).toBe(true)
    expect(second.has('WATCHDOG=1')).toBe(false)
    waiter.kill('SIGTERM')
    expect((await waiter).exitCode).toBe(0)
    for (const socket of [first, second]) socket.listener.kill('SIGKILL')
  })

  it('says nothing, and runs as ever, where systemd-notify cannot be run', async () => {
    const name = uniqueName('systemd-missing')
    const socket = await notifySocket()
    // A PATH with node on it, and no systemd-notify.
    const bin = tempDir()
    symlinkSync(process.execPath, join(bin, 'node'))
    const campaign = startElect(['campaign', name], {env: {ELECT_RUNTIME_DIR: tempDir(), NOTIFY_SOCKET: socket.path, PATH: bin}})
    let stderr = ''
    campaign.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    expect(await waitFor(() => stderr.includes('systemd-notify cannot be run'), 15_000)).toBe(true)
    campaign.kill('SIGTERM')
    const ended = await campaign
    expect(ended.exitCode).toBe(0)
    expect(ended.stderr.match(/systemd-notify cannot be run/g)).toHaveLength(1)
    expect(socket.messages).toEqual([])
    socket.listener.kill('SIGKILL')
  })
})
