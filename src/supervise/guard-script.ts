import {readFileSync} from 'node:fs'

/**
 * The text of guard.sh, which the guard runs as `bash -c`: a bundle (npm's or the single executable)
 * has it inlined by the build and reads no file; running from the sources reads the file beside this.
 */
export const guardScript = readFileSync(new URL('guard.sh', import.meta.url), 'utf8')
