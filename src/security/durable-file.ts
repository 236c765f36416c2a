/**
 * Durable replacement of a small file (keys, certificates, credentials): after
 * `writeFileDurably` returns, the new content survives a crash of the machine or of the file
 * system, and at every instant the target holds either its old or its new content, complete.
 * A plain write + rename is atomic but not durable: the rename can reach the disk before the
 * data, so after a crash the file comes back empty (RELIABILITY.md, B5).
 *
 * Lives in security/ (not store/) because both security/ and agent/ use it and the layering
 * (.dependency-cruiser.cjs) lets agent/ import security/ but not store/.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface DurableWriteOptions {
  /** Permission bits of the file, applied regardless of the umask. Default 0o600. */
  mode?: number;
}

/**
 * Replaces `file` with `data`: writes a unique temporary file in the same directory, fsyncs
 * it, sets its mode, renames it over `file` and fsyncs the directory (so the rename itself is
 * on disk). On failure the temporary file is removed, `file` keeps its old content and the
 * error (an ErrnoException: ENOSPC, EROFS, EACCES, EISDIR…) is thrown. Only when the last
 * step, the directory's fsync, fails is the new content already in place (durability unknown)
 * when the error is thrown. Synchronous: for small files written rarely (start, join).
 */
export function writeFileDurably(file: string, data: string | Uint8Array, options: DurableWriteOptions = {}): void {
  const mode = options.mode ?? 0o600;
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    // 'wx': never follow or reuse something already at the temporary name.
    const fd = openSync(tmp, 'wx', mode);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fchmodSync(fd, mode); // the umask may have narrowed the mode given to open
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    renamed = true;
    fsyncDirectory(dir);
  } catch (err) {
    if (!renamed) rmSync(tmp, { force: true });
    throw err;
  }
}

/** Makes a rename or creation in `dir` durable. Directories cannot be fsynced on some systems. */
function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // not openable for reading (e.g. no read permission): the data itself is synced
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EINVAL/ENOTSUP: the file system does not sync directories; EISDIR on some platforms.
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EBADF') throw err;
  } finally {
    closeSync(fd);
  }
}
