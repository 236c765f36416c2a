import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/index.js';
import { resolveDataDir } from './data-dir.js';

describe('resolveDataDir', () => {
  const cwd = '/home/dev/project';

  it('defaults to .bitacora in the working directory', () => {
    expect(resolveDataDir({ env: {}, cwd })).toBe('/home/dev/project/.bitacora');
  });

  it('takes BITACORA_DATA_DIR over the default, and --data-dir over both', () => {
    expect(resolveDataDir({ env: { BITACORA_DATA_DIR: '/var/lib/bitacora' }, cwd })).toBe('/var/lib/bitacora');
    expect(resolveDataDir({ flag: 'state', env: { BITACORA_DATA_DIR: '/var/lib/bitacora' }, cwd })).toBe('/home/dev/project/state');
  });

  it('resolves relative paths against the given working directory and treats an empty variable as unset', () => {
    expect(resolveDataDir({ env: { BITACORA_DATA_DIR: '../shared' }, cwd })).toBe('/home/dev/shared');
    expect(resolveDataDir({ env: { BITACORA_DATA_DIR: '' }, cwd })).toBe('/home/dev/project/.bitacora');
  });

  it('refuses an empty --data-dir and a relative working directory', () => {
    expect(() => resolveDataDir({ flag: ' ', env: {}, cwd })).toThrow(ValidationError);
    expect(() => resolveDataDir({ env: {}, cwd: 'relative' })).toThrow(/absolute/);
  });
});
