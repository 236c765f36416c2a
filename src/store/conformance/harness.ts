/** Shared helpers of the backbone conformance suite: a fresh backbone per test, error capture, fixtures. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import { BitacoraError, type EventType, type FleetEvent } from '../../core/index.js';
import type { Backbone, RegisterNodeInput } from '../backbone.js';

/** What `OpenBackbone` hands the suite: a fresh, empty backbone and how to dispose of it. */
export interface OpenedBackbone {
  backbone: Backbone;
  /** Closes the backbone and removes everything it stored. Called once, after every handle from `reopen` is closed. */
  cleanup: () => Promise<void>;
  /**
   * Opens a second, independent handle on the same store — what another process would open
   * (the embedded store: the same file again). Optional: the tests that need it are skipped
   * without it. The suite closes every handle it opened before `cleanup`.
   */
  reopen?: () => Promise<Backbone>;
}

/** Opens a fresh, empty backbone. */
export type OpenBackbone = () => Promise<OpenedBackbone>;

/** A base time for tests: every `now` is passed explicitly. */
export const T0 = 1_700_000_000_000;

export interface BackboneFixture {
  /** The backbone of the running test. */
  backbone: () => Backbone;
  /** A second handle on the same store, or null when the implementation offers none. Closed after the test. */
  reopen: () => Promise<Backbone | null>;
}

/** Opens a fresh backbone before each test of the enclosing describe and disposes of it after. */
export function useBackboneFixture(open: OpenBackbone): BackboneFixture {
  let current: OpenedBackbone | null = null;
  const others: Backbone[] = [];
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    const opened = current;
    current = null;
    try {
      await Promise.all(others.splice(0).map((other) => other.close()));
    } finally {
      await opened?.cleanup();
    }
  });
  const require = (): OpenedBackbone => {
    if (!current) throw new Error('no backbone is open (used outside a test?)');
    return current;
  };
  return {
    backbone: () => require().backbone,
    reopen: async () => {
      const opened = require();
      if (!opened.reopen) return null;
      const other = await opened.reopen();
      others.push(other);
      return other;
    },
  };
}

/** Registers a fresh backbone for each test of the enclosing describe; returns its getter. */
export function useBackbone(open: OpenBackbone): () => Backbone {
  return useBackboneFixture(open).backbone;
}

/**
 * The BitacoraError the call rejects with; fails the test if it resolves, rejects with
 * something else, or throws synchronously (a backbone method reports failure through its
 * promise only).
 */
export async function caught(call: () => Promise<unknown>): Promise<BitacoraError> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (err) {
    throw new Error(`expected a rejected promise, but the call threw synchronously: ${String(err)}`, { cause: err });
  }
  try {
    await promise;
  } catch (err) {
    if (err instanceof BitacoraError) return err;
    throw new Error(`expected a BitacoraError, got: ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error, but the call succeeded');
}

/** Every event in the log (optionally of one type), oldest first. */
export async function eventsOf(backbone: Backbone, type?: EventType): Promise<FleetEvent[]> {
  const all: FleetEvent[] = [];
  for (let page = await backbone.events.read(0, 1000); page.length > 0; page = await backbone.events.read(page[page.length - 1]!.seq, 1000)) all.push(...page);
  return type === undefined ? all : all.filter((e) => e.type === type);
}

/** Milliseconds `promise` took to settle, with its value. */
export async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function nodeInput(name: string, overrides: Partial<RegisterNodeInput> = {}): RegisterNodeInput {
  return {
    name,
    role: 'worker',
    capabilities: ['linux', 'node'],
    specializations: ['build'],
    capacity: 4,
    resources: { cpus: 4, memoryBytes: 8 * 1024 ** 3, load: 0.5 },
    agentVersion: '0.1.0',
    credentialHash: sha256(`credential of ${name}`),
    address: '10.0.0.2',
    ...overrides,
  };
}
