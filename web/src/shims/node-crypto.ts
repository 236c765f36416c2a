/** Browser stand-in for node:crypto, which src/core's id generator imports: the dashboard never generates ids. */
export function randomBytes(): never {
  throw new Error('randomBytes is not available in the dashboard');
}
