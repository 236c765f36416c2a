/** writeFileDurably against a real directory: content, mode, no temporary left, failures change nothing. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileDurably } from './durable-file.js';

const dirs: string[] = [];
const immutable: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bitacora-durable-'));
  dirs.push(dir);
  return dir;
}
/** Makes `path` unchangeable even for root (`chattr +i`); false where that is not possible. */
function makeImmutable(path: string): boolean {
  const ok = spawnSync('chattr', ['+i', path], { stdio: 'ignore' }).status === 0;
  if (ok) immutable.push(path);
  return ok;
}
afterEach(() => {
  for (const path of immutable.splice(0)) spawnSync('chattr', ['-i', path], { stdio: 'ignore' });
  for (const dir of dirs.splice(0)) {
    chmodSync(dir, 0o700); // a test may have made it read-only
    rmSync(dir, { recursive: true, force: true });
  }
});

const mode = (path: string): number => statSync(path).mode & 0o777;
const isRoot = process.getuid?.() === 0;

describe('writeFileDurably', () => {
  it('creates the file with the content, then replaces it, leaving no temporary file', () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    writeFileDurably(file, '{"v":1}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}\n');
    writeFileDurably(file, new Uint8Array([0x68, 0x69]));
    expect(readFileSync(file, 'utf8')).toBe('hi');
    writeFileDurably(file, '');
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('writes large content completely', () => {
    const file = join(tempDir(), 'big.pem');
    const data = 'x'.repeat(3 * 1024 * 1024 + 17);
    writeFileDurably(file, data);
    expect(statSync(file).size).toBe(data.length);
  });

  it('applies the mode whatever the umask: owner-only by default, wider when asked', () => {
    const dir = tempDir();
    writeFileDurably(join(dir, 'key.pem'), 'secret');
    expect(mode(join(dir, 'key.pem'))).toBe(0o600);
    // 0o666 is narrowed by any usual umask (022, 077) unless the mode is set explicitly.
    writeFileDurably(join(dir, 'cert.pem'), 'public', { mode: 0o666 });
    expect(mode(join(dir, 'cert.pem'))).toBe(0o666);
    // Replacing a file gives the new mode, not the old file's.
    writeFileDurably(join(dir, 'cert.pem'), 'public', { mode: 0o644 });
    expect(mode(join(dir, 'cert.pem'))).toBe(0o644);
  });

  it('fails on a rename onto a directory: the directory is untouched and no temporary is left', () => {
    const dir = tempDir();
    const target = join(dir, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'keep');
    expect(() => writeFileDurably(target, 'data')).toThrow(expect.objectContaining({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) }));
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('keep');
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('fails in a directory that does not exist, creating nothing', () => {
    const dir = tempDir();
    expect(() => writeFileDurably(join(dir, 'missing', 'file'), 'data')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails in a directory it may not write to, leaving the old file intact', (ctx) => {
    const dir = tempDir();
    const file = join(dir, 'ca.pem');
    writeFileSync(file, 'old');
    // Root ignores permission bits; an immutable directory stops root too.
    if (isRoot ? !makeImmutable(dir) : (spawnSync('chmod', ['0555', dir]).status !== 0)) ctx.skip();
    expect(() => writeFileDurably(file, 'new')).toThrow(expect.objectContaining({ code: expect.stringMatching(/EPERM|EACCES/) }));
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['ca.pem']);
  });

  it('fails when the rename over the old file is refused, leaving it intact and removing the written temporary', (ctx) => {
    const dir = tempDir();
    const file = join(dir, 'agent.json');
    writeFileSync(file, 'old');
    // The temporary file is created and written; only the rename over the immutable file fails.
    if (!makeImmutable(file)) ctx.skip();
    expect(() => writeFileDurably(file, 'new')).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['agent.json']);
  });
});
