/**
 * The ACL policy file (`<dataDir>/acl.yaml` unless the master config names another): read at
 * start, written durably by `setAclPolicy`, and watched so that a hand edit applies live.
 * I/O only; what a change means (validate, apply, audit) is AccessControl's business.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { stringify as toYaml } from 'yaml';
// Not (yet) re-exported by security/index.ts.
import { writeFileDurably } from '../security/durable-file.js';
import { loadAclPolicy, type AclPolicy } from '../security/index.js';

/** How often the file's stat is polled for hand edits. */
export const POLICY_POLL_MS = 1000;

export class PolicyFile {
  private listener: ((curr: Stats, prev: Stats) => void) | null = null;

  constructor(readonly path: string) {}

  /** The file's text, or null when it does not exist. Other read errors throw. */
  readText(): string | null {
    try {
      return readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** The validated policy; null when the file does not exist. ValidationError naming the file and path otherwise. */
  load(): AclPolicy | null {
    if (this.readText() === null) return null;
    return loadAclPolicy(this.path);
  }

  /** Writes `policy` as YAML (temp file, fsync, rename, fsync of the directory); returns the text written. */
  write(policy: AclPolicy): string {
    const text = `# Bitácora ACL policy: written by \`bitacora acl set\`; hand edits apply live (invalid ones are refused and audited).\n${toYaml(policy)}`;
    writeFileDurably(this.path, text, { mode: 0o600 });
    return text;
  }

  /** Calls `onChange` (after a ~1 s poll) whenever the file's stat changes. Unref'd; idempotent. */
  watch(onChange: () => void, intervalMs = POLICY_POLL_MS): void {
    if (this.listener) return;
    this.listener = (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) onChange();
    };
    watchFile(this.path, { interval: intervalMs, persistent: false }, this.listener);
  }

  /** Stops watching; idempotent. */
  close(): void {
    if (!this.listener) return;
    unwatchFile(this.path, this.listener);
    this.listener = null;
  }
}
