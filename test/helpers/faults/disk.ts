/**
 * Disk trouble for the master's store (we run as root): a small tmpfs that the test fills up
 * and frees again, and a loop-mounted ext4 that turns read-only under the store's feet (an
 * injected file-system error with errors=remount-ro, the way a failing disk does it).
 * Every mount is undone by the FaultScope, even after a failure.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultScope } from './fleet.js';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let mountable: boolean | null = null;

/** Whether this process may mount file systems (root in a privileged enough container). */
export function canMount(): boolean {
  if (mountable !== null) return mountable;
  const probe = mkdtempSync(join(tmpdir(), 'bitacora-mount-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    run('umount', [probe]);
    mountable = true;
  } catch {
    mountable = false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  return mountable;
}

function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    run('umount', ['-l', dir]); // still busy: detach now, freed when the last user goes
  }
}

/** A tmpfs of `sizeBytes` at `<scope dir>/mnt`; unmounted by the scope. */
export class SmallDisk {
  private filler: string | null = null;

  private constructor(readonly path: string) {}

  static mount(scope: FaultScope, sizeBytes: number): SmallDisk {
    const path = join(scope.dir('bitacora-disk-'), 'mnt');
    mkdirSync(path);
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', path]);
    scope.defer(() => unmount(path));
    return new SmallDisk(path);
  }

  /** Writes a filler file until the disk is full (ENOSPC). Returns the bytes written. */
  fill(): number {
    this.filler = join(this.path, `filler-${Date.now()}`);
    const fd = openSync(this.filler, 'w');
    const block = Buffer.alloc(64 * 1024, 0x5a);
    let written = 0;
    try {
      for (;;) {
        try {
          written += writeSync(fd, block);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          // Fill the last partial block too.
          for (let size = 32 * 1024; size >= 512; size /= 2) {
            try {
              written += writeSync(fd, block.subarray(0, size));
            } catch {
              // smaller
            }
          }
          return written;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Space comes back. */
  free(): void {
    if (this.filler) rmSync(this.filler, { force: true });
    this.filler = null;
  }
}

/** An ext4 file system on a loop device at `<scope dir>/mnt` that can be made to fail read-only. */
export class FailingDisk {
  private constructor(
    readonly path: string,
    private readonly image: string,
  ) {}

  static create(scope: FaultScope, sizeMb = 32): FailingDisk {
    const dir = scope.dir('bitacora-ext4-');
    const image = join(dir, 'disk.img');
    const path = join(dir, 'mnt');
    mkdirSync(path);
    run('truncate', ['-s', `${sizeMb}M`, image]);
    run('mkfs.ext4', ['-q', '-O', '^has_journal', image]);
    const disk = new FailingDisk(path, image);
    disk.mountRw();
    scope.defer(() => unmount(path));
    return disk;
  }

  /** What a failing disk does: the kernel turns the file system read-only, at once, for every writer. */
  failReadOnly(): void {
    const device = run('findmnt', ['-no', 'SOURCE', this.path]).trim().replace('/dev/', '');
    run('sh', ['-c', `echo bitacora-fault-test > /sys/fs/ext4/${device}/trigger_fs_error`]);
  }

  get readOnly(): boolean {
    // ext4 marks an error-forced read-only mount 'emergency_ro' (the 'rw' flag stays listed).
    const options = run('findmnt', ['-no', 'OPTIONS', this.path]).trim().split(',');
    return options.includes('ro') || options.includes('emergency_ro');
  }

  /** The operator's repair: unmount, fsck, mount read-write again (the users must be stopped first). */
  repair(): void {
    unmount(this.path);
    try {
      run('e2fsck', ['-fy', this.image]);
    } catch {
      // exit 1 = errors corrected
    }
    this.mountRw();
  }

  private mountRw(): void {
    run('mount', ['-o', 'loop,errors=remount-ro', this.image, this.path]);
  }
}

/** Tools the read-only case needs besides mount. */
export function canFailReadOnly(): boolean {
  try {
    run('sh', ['-c', 'command -v mkfs.ext4 && command -v e2fsck && command -v findmnt && test -e /dev/loop-control']);
    return canMount();
  } catch {
    return false;
  }
}
