import { describe, expect, it } from 'vitest';
import { dashboardLoginUrl, loginTokenFromHash } from './login-link.js';

describe('dashboard sign-in link', () => {
  it('carries the login token in the fragment, which round-trips', () => {
    const link = dashboardLoginUrl('https://master.example:7700/', 'bat_a-b_c');
    expect(link).toBe('https://master.example:7700/#login=bat_a-b_c');
    expect(loginTokenFromHash(new URL(link).hash)).toBe('bat_a-b_c');
  });

  it('finds no token in other fragments', () => {
    expect(loginTokenFromHash('#/fleet')).toBeNull();
    expect(loginTokenFromHash('')).toBeNull();
    expect(loginTokenFromHash('#login=')).toBeNull();
  });
});
