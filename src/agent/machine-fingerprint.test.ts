import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capabilitySchema } from '../core/index.js';
import { machineCapabilities } from './machine-fingerprint.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('machineCapabilities', () => {
  it('advertises os, arch and the executable tools found on PATH, as valid capability names', () => {
    dir = mkdtempSync(join(tmpdir(), 'bitacora-fp-'));
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    for (const [d, tool, mode] of [[a, 'git', 0o755], [b, 'g++', 0o755], [b, 'docker', 0o644]] as const) {
      writeFileSync(join(d, tool), '#!/bin/sh\n');
      chmodSync(join(d, tool), mode);
    }
    mkdirSync(join(a, 'make')); // a directory named like a tool is not the tool
    const caps = machineCapabilities([a, b, join(dir, 'missing')].join(delimiter), { platform: 'linux', arch: 'x64' });
    expect(caps).toEqual(['arch:x64', 'git', 'gxx', 'os:linux']);
    for (const cap of caps) expect(capabilitySchema.safeParse(cap).success, cap).toBe(true);
  });
});
