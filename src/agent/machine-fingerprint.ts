/**
 * What a machine can run, found rather than typed: `os:<platform>`, `arch:<arch>` and the tools
 * on PATH, advertised as capabilities beside the hand-typed ones (cores and memory travel as
 * resources in every hello and heartbeat). The serve allow-lists restrict these like any other.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { delimiter, join } from 'node:path';

/** Tools looked for on PATH; each found one is advertised under its own name. */
export const FINGERPRINT_TOOLS = [
  'docker', 'podman', 'node', 'npm', 'git', 'python3', 'make', 'gcc', 'g++', 'clang', 'go', 'cargo', 'rustc', 'java', 'kubectl', 'terraform',
] as const;

/** `os:linux`, `arch:x64` and the FINGERPRINT_TOOLS found on `path` (default: this process's PATH), sorted. */
export function machineCapabilities(path: string = process.env['PATH'] ?? '', os: { platform: string; arch: string } = { platform: platform(), arch: arch() }): string[] {
  const dirs = path.split(delimiter).filter((d) => d !== '');
  const found = FINGERPRINT_TOOLS.filter((tool) => dirs.some((dir) => isExecutable(join(dir, tool))));
  return [`os:${slug(os.platform)}`, `arch:${slug(os.arch)}`, ...found.map(slug)].sort();
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Capability names are lowercase words (core's capabilitySchema): `g++` is advertised as `gxx`. */
function slug(text: string): string {
  return text.toLowerCase().replace(/\+/g, 'x').replace(/[^a-z0-9._:-]/g, '-');
}
