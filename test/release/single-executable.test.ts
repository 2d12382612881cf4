// The single executables (npm run dist) as a server without Node meets them: the file alone in an
// empty directory, run with a PATH and an environment in which there is no node, npm or node_modules.
// ELECT_SEA_DIR tests the files a build already made (CI: release/); otherwise they are built here.
import {closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {arch} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {execa, type Options} from 'execa'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {aarch64Emulator} from '../build/debian.js'
import {cleanup, etcdctl, groupAlive, tempDir, trackGroup, uniqueName, waitFor} from '../harness/cli.js'

const root = new URL('../..', import.meta.url).pathname
let releaseDir: string
let server: string
let executable: string

/** A PATH of the few tools the commands below use, and no node. */
function toolsWithoutNode(dir: string): string {
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  for (const tool of ['sh', 'bash', 'sleep', 'cat', 'date', 'touch']) {
    const found = ['/usr/bin', '/bin'].map((path) => join(path, tool)).find((path) => existsSync(path))
    if (found) symlinkSync(found, join(bin, tool))
  }
  return bin
}

/** Runs the executable on the server; `machine` names its runtime directory (another: another server). */
function onServer(args: string[], {machine = 'run', ...extra}: Options & {machine?: string} = {}) {
  return execa(executable, args, {
    cwd: server,
    reject: false,
    timeout: 30_000,
    stdin: 'ignore',
    extendEnv: false,
    env: {PATH: join(server, 'bin'), HOME: server, ELECT_ENDPOINTS: inject('etcdEndpoints').join(','), ELECT_RUNTIME_DIR: join(server, machine), NO_COLOR: '1'},
    ...extra,
  })
}

beforeAll(async () => {
  releaseDir = process.env.ELECT_SEA_DIR ?? tempDir()
  if (!process.env.ELECT_SEA_DIR) {
    await execa('npx', ['tsx', 'test/build/dist.ts'], {cwd: root, env: {ELECT_DIST_OUT: releaseDir}, timeout: 240_000})
  }
  server = tempDir()
  toolsWithoutNode(server)
  executable = join(server, 'elect')
  copyFileSync(join(releaseDir, `elect-linux-${arch()}`), executable)
}, 300_000)
afterAll(cleanup)

describe(`the single executable for linux-${arch()}, alone on a server without Node`, () => {
  it('has no node to lean on, and says which Node it carries', async () => {
    const probe = await execa('sh', ['-c', 'command -v node; command -v npm; printf "%s\\n" *'], {
      cwd: server,
      reject: false,
      extendEnv: false,
      env: {PATH: join(server, 'bin')},
    })
    expect(probe.stdout.split('\n').sort()).toEqual(['bin', 'elect'])
    const version = await onServer(['--version'])
    expect([version.exitCode, version.stderr]).toEqual([0, ''])
    expect(version.stdout).toMatch(new RegExp(`^elect/\\d+\\.\\d+\\.\\d+ linux-${arch()} node-v24\\.`))
  })

  it('runs who-leads, campaign, a skipping run-if-leader and resign', async () => {
    const name = uniqueName('sea')
    expect((await onServer(['who-leads', name])).exitCode).toBe(3)
    const campaign = onServer(['campaign', name, '--value', 'sea-server', '--json'], {timeout: 60_000})
    expect(await waitFor(async () => (await onServer(['who-leads', name])).stdout === 'sea-server', 15_000)).toBe(true)
    // Another server: its run-if-leader skips, without running the command.
    const marker = join(server, 'skipped-command-ran')
    const skipped = await onServer(['run-if-leader', name, '--', 'touch', marker], {machine: 'another'})
    expect([skipped.exitCode, existsSync(marker)]).toEqual([0, false])
    const resigned = await onServer(['resign', name, '--value', 'sea-server'])
    expect(resigned.exitCode).toBe(0)
    expect((await campaign).exitCode).toBe(0)
    expect((await onServer(['who-leads', name])).exitCode).toBe(3)
  })

  it('runs the command with its guard and passes its exit status through', async () => {
    const name = uniqueName('sea-run')
    const ran = await onServer(['run-if-leader', name, '--', 'sh', '-c', 'echo "$ELECT_NAME"; exit 7'])
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([7, name, ''])
  })

  it('stops the whole group and exits 75 when its lease is revoked', async () => {
    const name = uniqueName('sea-revoked')
    const pidFile = join(tempDir(), 'pid')
    const holder = onServer(['run-if-leader', name, '--ttl', '30s', '--', 'sh', '-c', `sleep 1000 & echo $$ > ${pidFile}; sleep 1000`], {timeout: 60_000})
    expect(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 10_000)).toBe(true)
    const pgid = Number(readFileSync(pidFile, 'utf8'))
    trackGroup(pgid)
    const lease = JSON.parse(String((await onServer(['who-leads', name, '--json'])).stdout)).leader.lease as string
    etcdctl(['lease', 'revoke', lease])
    // The fence of a 30 s lease is 26 s away: only the revoke can explain a stop within 15 s.
    expect(await waitFor(() => !groupAlive(pgid), 15_000)).toBe(true)
    expect((await holder).exitCode).toBe(75)
  })
})

describe('the single executable for linux-arm64', () => {
  it('is an aarch64 executable that prints its version under qemu', async (context) => {
    const file = join(releaseDir, 'elect-linux-arm64')
    const header = Buffer.alloc(20)
    const fd = openSync(file, 'r')
    readSync(fd, header, 0, 20, 0)
    closeSync(fd)
    // ELF, 64-bit, little-endian, an executable (2) for machine 183: EM_AARCH64.
    expect([header.subarray(0, 4).toString('latin1'), header[4], header[5], header.readUInt16LE(16), header.readUInt16LE(18)]).toEqual([
      '\x7fELF',
      2,
      1,
      2,
      183,
    ])
    let emulator: ReturnType<typeof aarch64Emulator>
    try {
      emulator = aarch64Emulator()
    } catch (error) {
      return context.skip(`no qemu-user-static to be had here: ${(error as Error).message}`)
    }
    const version = await execa(emulator.qemu, ['-L', emulator.root, file, '--version'], {timeout: 60_000, extendEnv: false, env: {PATH: '/nonexistent'}})
    expect(version.stdout).toMatch(/^elect\/\d+\.\d+\.\d+ linux-arm64 node-v24\./)
  }, 180_000)
})

describe('the Debian packages', () => {
  it("install /usr/bin/elect, the executable itself, and elect(1) with every command's help", async (context) => {
    if ((await execa('dpkg-deb', ['--version'], {reject: false}).catch(() => null))?.exitCode !== 0) return context.skip('no dpkg-deb here')
    const sums = readFileSync(join(releaseDir, 'SHA256SUMS'), 'utf8')
    for (const [target, debianArch] of [
      ['x64', 'amd64'],
      ['arm64', 'arm64'],
    ]) {
      const deb = join(releaseDir, `elect_0.1.0_${debianArch}.deb`)
      expect(sums).toContain(`  elect_0.1.0_${debianArch}.deb\n`)
      expect((await execa('dpkg-deb', ['--field', deb, 'Package', 'Architecture', 'Depends'])).stdout).toBe(
        `Package: elect\nArchitecture: ${debianArch}\nDepends: bash`,
      )
      const root = tempDir()
      await execa('dpkg-deb', ['--extract', deb, root])
      expect(readFileSync(join(root, 'usr/bin/elect')).equals(readFileSync(join(releaseDir, `elect-linux-${target}`)))).toBe(true)
      const page = gunzipSync(readFileSync(join(root, 'usr/share/man/man1/elect.1.gz'))).toString()
      expect(page).toMatch(/^\.TH ELECT 1 /)
      for (const command of ['campaign', 'resign', 'run-if-leader', 'runs', 'who-leads']) {
        expect(page).toContain(`.SS ${command}\n.nf\n`)
        expect(page).toContain(`$ elect ${command} NAME`)
      }
      expect(page).toContain('EXIT CODES')
      // What every command shares, told once: the connection flags in full.
      expect(page).toMatch(/^ {2}--endpoints URLS +etcd endpoints/m)
      const unit = readFileSync(join(root, 'lib/systemd/system/elect-campaign@.service'), 'utf8')
      expect(unit).toMatch(/^Type=notify$/m)
      expect(unit).toMatch(/^ExecStart=\/usr\/bin\/elect campaign %i$/m)
      expect(unit).toMatch(/^Restart=always$/m)
      // The unit reads the configuration every elect reads, which the package ships as a conffile,
      // every setting commented out, readable by cron jobs of every user.
      expect(unit).toMatch(/^EnvironmentFile=-\/etc\/elect\/elect\.env$/m)
      const config = join(root, 'etc/elect/elect.env')
      expect((statSync(config).mode & 0o777).toString(8)).toBe('644')
      expect(
        readFileSync(config, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '' && !line.startsWith('#')),
      ).toEqual([])
      expect(readFileSync(config, 'utf8')).toMatch(/^#ELECT_ENDPOINTS=/m)
      const control = tempDir()
      await execa('dpkg-deb', ['--control', deb, control])
      expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/elect/elect.env\n')
    }
  })

  it('ship a campaign unit that systemd-analyze verify finds nothing wrong with', async (context) => {
    for (const tool of ['dpkg-deb', 'systemd-analyze'])
      if ((await execa(tool, ['--version'], {reject: false}).catch(() => null))?.exitCode !== 0) return context.skip(`no ${tool} here`)
    const root = tempDir()
    await execa('dpkg-deb', ['--extract', join(releaseDir, 'elect_0.1.0_amd64.deb'), root])
    // An instance of the template, its ExecStart pointing at the packaged executable where it was unpacked.
    const instance = join(tempDir(), 'elect-campaign@scheduler.service')
    writeFileSync(
      instance,
      readFileSync(join(root, 'lib/systemd/system/elect-campaign@.service'), 'utf8').replace('/usr/bin/elect', join(root, 'usr/bin/elect')),
    )
    const verified = await execa('systemd-analyze', ['verify', '--man=no', instance], {reject: false})
    expect([verified.exitCode, verified.stderr]).toEqual([0, ''])
  })
})
