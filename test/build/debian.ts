// Debian packages unpacked into a folder (`apt-get download` + `dpkg -x`): no service started, and
// nothing of the machine's own apt state changed. A package of another suite or architecture comes
// through a private sources list and package lists under .cache/apt (as ../shared/NOTES.md says).
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {projectRoot} from '../harness/processes.js'

export interface DebianSource {
  /** A suite other than the machine's own (say, sid), or the machine's own for another architecture. */
  suite: string
  /** A Debian architecture name (arm64), if not the machine's. */
  arch?: string
}

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/** The Debian mirror the machine's own sources use. */
function machineMirror(): string {
  const parts = existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((file) => join('/etc/apt/sources.list.d', file)) : []
  for (const file of ['/etc/apt/sources.list', ...parts].filter((path) => /\.(list|sources)$/.test(path) && existsSync(path))) {
    const mirror = /^(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(\S+?\/debian)\/?(?:\s|$)/m.exec(readFileSync(file, 'utf8'))
    if (mirror) return mirror[1]
  }
  return 'http://deb.debian.org/debian'
}

/** apt-get's options for a private source; the package lists are fetched on first use. */
function privateSource({suite, arch}: DebianSource): string[] {
  const state = join(projectRoot, '.cache', 'apt', `${suite}${arch ? `-${arch}` : ''}`)
  const options = [
    `-o=Dir::Etc::sourcelist=${join(state, 'sources.list')}`,
    '-o=Dir::Etc::sourceparts=-',
    `-o=Dir::State::Lists=${join(state, 'lists')}`,
    `-o=Dir::Cache=${join(state, 'cache')}`,
    ...(arch ? [`-o=APT::Architecture=${arch}`, `-o=APT::Architectures::=${arch}`] : []),
  ]
  if (!existsSync(join(state, 'lists', 'lock'))) {
    mkdirSync(join(state, 'lists', 'partial'), {recursive: true})
    mkdirSync(join(state, 'cache', 'archives', 'partial'), {recursive: true})
    const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg'
    writeFileSync(join(state, 'sources.list'), `deb [${arch ? `arch=${arch} ` : ''}signed-by=${keyring}] ${machineMirror()} ${suite} main\n`)
    execFileSync('apt-get', [...options, 'update', '-qq'], {stdio: 'pipe'})
  }
  return options
}

/** Unpacks the packages into `into`, from the machine's own sources unless `source` says otherwise. */
export function unpackDebianPackages(packages: string[], into: string, source?: DebianSource): void {
  if (!has('apt-get') || !has('dpkg')) throw new Error(`apt-get and dpkg are needed to fetch ${packages.join(', ')}`)
  const downloads = mkdtempSync(join(tmpdir(), 'elect-deb-'))
  try {
    const options = source ? privateSource(source) : []
    const download = () => execFileSync('apt-get', [...options, 'download', ...packages], {cwd: downloads, stdio: 'pipe'})
    try {
      download()
    } catch (error) {
      if (source) throw error
      // A fresh machine's package lists may be empty: refresh them once and try again.
      execFileSync('apt-get', ['update', '-qq'], {stdio: 'pipe'})
      download()
    }
    mkdirSync(into, {recursive: true})
    for (const deb of readdirSync(downloads).filter((file) => file.endsWith('.deb'))) {
      execFileSync('dpkg', ['-x', join(downloads, deb), into])
    }
  } catch (error) {
    // apt's own words, whole: its first line is rarely the one that says what went wrong.
    const {stderr, message} = error as Error & {stderr?: Buffer}
    throw new Error(`could not fetch Debian's ${packages.join(', ')}: ${stderr?.toString().trim() || message}`)
  } finally {
    rmSync(downloads, {recursive: true, force: true})
  }
}

/** The machine's Debian release (bookworm), for packages of another architecture from the same suite. */
function machineSuite(): string {
  const release = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''
  const codename = /^VERSION_CODENAME=(\w+)/m.exec(release)?.[1]
  if (!codename) throw new Error('not a Debian-like system with a release codename in /etc/os-release')
  return codename
}

/**
 * qemu's user-mode aarch64 emulator and the arm64 C and C++ libraries that Node's binary links, as a
 * root for `qemu-aarch64-static -L <root>`: runs a linux-arm64 executable on this machine.
 */
export function aarch64Emulator(): {qemu: string; root: string} {
  const home = join(projectRoot, '.cache', 'qemu')
  const qemu = join(home, 'usr', 'bin', 'qemu-aarch64-static')
  const root = join(home, 'arm64')
  if (!existsSync(qemu)) unpackDebianPackages(['qemu-user-static'], home)
  if (!existsSync(join(root, 'lib', 'ld-linux-aarch64.so.1'))) {
    unpackDebianPackages(['libc6', 'libstdc++6', 'libgcc-s1'], root, {suite: machineSuite(), arch: 'arm64'})
  }
  return {qemu, root}
}
