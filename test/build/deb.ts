// Debian packages of the single executables (npm run dist), for fleets that install tools as
// packages: /usr/bin/elect, a man page made from the commands' own help, elect(1), and the template
// unit of a standing campaign, elect-campaign@.service.
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {gzipSync} from 'node:zlib'
import {projectRoot} from '../harness/processes.js'

const DEBIAN_ARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64'}

/** Text for roff: a line that starts with a dot or quote would be a request, a backslash an escape. */
const roff = (text: string) =>
  text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')

/** elect(1): the overview and each command's --help, as the executable prints them at 80 columns. */
export function manPage(executable: string, version: string, date: string): string {
  const help = (...args: string[]) =>
    execFileSync(executable, [...args, '--help'], {encoding: 'utf8', env: {...process.env, OCLIF_COLUMNS: '80', NO_COLOR: '1'}}).trimEnd()
  const manifest = JSON.parse(readFileSync(join(projectRoot, '.oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
  const commands = Object.keys(manifest.commands).filter((id) => id !== 'help' && !id.startsWith('autocomplete'))
  const overview = help()
  const [summary] = overview.split('\n')
  return [
    `.TH ELECT 1 "${date}" "elect ${version}" "User Commands"`,
    '.SH NAME',
    `elect \\- ${roff(summary)}`,
    '.SH SYNOPSIS',
    '.nf',
    ...commands.map((id) => `\\fBelect ${id}\\fR \\fINAME\\fR [flags]${id === 'run-if-leader' ? ' \\-\\- \\fIcommand\\fR [\\fIargs\\fR...]' : ''}`),
    '.fi',
    '.SH DESCRIPTION',
    'What every command shares, as `elect --help` prints it.',
    '.nf',
    roff(overview.slice(overview.indexOf('CONNECTION FLAGS'))),
    '.fi',
    '.SH COMMANDS',
    'The help of each command, as `elect COMMAND --help` prints it.',
    ...commands.flatMap((id) => [`.SS ${id}`, '.nf', roff(help(id)), '.fi']),
    '.SH SEE ALSO',
    'etcdctl(1); the README of elect.',
    '',
  ].join('\n')
}

/** The template unit of a standing campaign, `elect-campaign@<name>.service`. */
export const CAMPAIGN_UNIT = fileURLToPath(new URL('elect-campaign@.service', import.meta.url))

/** The configuration file the .deb installs as /etc/elect/elect.env. */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('elect.env', import.meta.url))

/** Builds elect_<version>_<arch>.deb in `out` around `executable`; returns its path. */
export function debianPackage(executable: string, target: string, version: string, page: string, out: string, sourceDateEpoch: string): string {
  const arch = DEBIAN_ARCH[target]
  const root = mkdtempSync(join(tmpdir(), 'elect-deb-'))
  try {
    chmodSync(root, 0o755)
    mkdirSync(join(root, 'DEBIAN'))
    mkdirSync(join(root, 'usr/bin'), {recursive: true})
    mkdirSync(join(root, 'usr/share/man/man1'), {recursive: true})
    mkdirSync(join(root, 'lib/systemd/system'), {recursive: true})
    copyFileSync(executable, join(root, 'usr/bin/elect'))
    copyFileSync(CAMPAIGN_UNIT, join(root, 'lib/systemd/system/elect-campaign@.service'))
    // The configuration every elect reads, commented out: a conffile, so that an upgrade keeps the operator's.
    mkdirSync(join(root, 'etc/elect'), {recursive: true})
    copyFileSync(EXAMPLE_CONFIG, join(root, 'etc/elect/elect.env'))
    chmodSync(join(root, 'etc/elect/elect.env'), 0o644)
    writeFileSync(join(root, 'DEBIAN/conffiles'), '/etc/elect/elect.env\n')
    chmodSync(join(root, 'usr/bin/elect'), 0o755)
    writeFileSync(join(root, 'usr/share/man/man1/elect.1.gz'), gzipSync(page, {level: 9}))
    writeFileSync(
      join(root, 'DEBIAN/control'),
      [
        'Package: elect',
        `Version: ${version}`,
        `Architecture: ${arch}`,
        'Maintainer: elect developers <elect@example.invalid>',
        'Depends: bash',
        'Section: admin',
        'Priority: optional',
        'Description: run a job on exactly one server, through etcd leader election',
        ' Many servers run the same cron entry or script; elect makes them agree through etcd on',
        " which one leads, and runs the job only there, never overlapping two leaders' commands.",
        ' One executable with its own Node.js inside.',
        '',
      ].join('\n'),
    )
    const deb = join(out, `elect_${version}_${arch}.deb`)
    // gzip: every dpkg reads it, and it takes 4 s where dpkg's default, xz, takes 34 s for 14 MB less.
    // File times clamped to the commit's: the same executable makes the same package.
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, deb], {
      stdio: 'pipe',
      env: {...process.env, SOURCE_DATE_EPOCH: sourceDateEpoch},
    })
    return deb
  } finally {
    rmSync(root, {recursive: true, force: true})
  }
}
