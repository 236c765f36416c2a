/**
 * The embedded store's repositories are synchronous better-sqlite3 code; they run inside one
 * thread (the writer's, or a reader's) and the asynchronous Backbone is built around them.
 * `Synchronous<I>` is interface I with every Promise unwrapped, so the compiler keeps each
 * repository class in step with the contract it serves.
 */
export type Synchronous<I> = {
  [K in keyof I]: I[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : I[K];
};
