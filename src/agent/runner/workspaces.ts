/**
 * DirectoryWorkspaces — each project's isolated workspace is `<root>/<workspace-slug>`.
 * The slug is validated with core's `slugSchema` so no name can escape the root.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BitacoraError, ErrorCode, slugSchema } from '../../core/index.js';
import type { WorkspaceProvider } from '../../engine/ports.js';

export class DirectoryWorkspaces implements WorkspaceProvider {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The directory of `project` (a workspace slug), without creating it. Throws UnsafeName. */
  pathOf(project: string): string {
    const parsed = slugSchema.safeParse(project);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => i.message).join('; ');
      throw new BitacoraError(ErrorCode.UnsafeName, `unsafe workspace name '${project}': ${reason}`, {
        details: { name: project },
      });
    }
    return join(this.root, parsed.data);
  }

  async ensure(project: string): Promise<string> {
    const dir = this.pathOf(project);
    await mkdir(dir, { recursive: true });
    return dir;
  }
}
