// libfaketime, from Debian's package (unpacked into .cache, no system change): it moves a process's
// wall clock, and only that (FAKETIME_DONT_FAKE_MONOTONIC), as an NTP step or a time zone's night does.
// The offset is read from a file at every call, so a test steps the clock of a running elect by
// writing that file.
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {unpackDebianPackages} from '../build/debian.js'
import {projectRoot} from './processes.js'

const home = join(projectRoot, '.cache', 'faketime')

/** The preload library's path, fetched on first use. */
export function libfaketime(): string {
  const find = () => {
    const lib = join(home, 'usr', 'lib')
    if (!existsSync(lib)) return undefined
    for (const arch of readdirSync(lib)) {
      const file = join(lib, arch, 'faketime', 'libfaketime.so.1')
      if (existsSync(file)) return file
    }
    return undefined
  }
  const found = find()
  if (found) return found
  unpackDebianPackages(['libfaketime'], home)
  return find()!
}

/**
 * The environment that runs a process on a wall clock `offsetFile` says (libfaketime's syntax: "+0",
 * "-3600", "@2027-03-28 00:59:00"); `write` changes it for every process that reads it.
 */
export function fakeClock(offsetFile: string, initial = '+0') {
  writeFileSync(offsetFile, `${initial}\n`)
  return {
    env: {
      LD_PRELOAD: libfaketime(),
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
    write: (offset: string) => writeFileSync(offsetFile, `${offset}\n`),
  }
}
