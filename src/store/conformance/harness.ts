/** Shared helpers of the backbone conformance suite: a fresh backbone per test, error capture, fixtures. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import { BitacoraError, type EventType, type FleetEvent } from '../../core/index.js';
import type { Backbone, RegisterNodeInput } from '../backbone.js';

/** Opens a fresh, empty backbone; `cleanup` closes it and removes everything it stored. */
export type OpenBackbone = () => { backbone: Backbone; cleanup: () => void };

/** A base time for tests: every `now` is passed explicitly. */
export const T0 = 1_700_000_000_000;

/** Registers a fresh backbone for each test of the enclosing describe; returns its getter. */
export function useBackbone(open: OpenBackbone): () => Backbone {
  let current: ReturnType<OpenBackbone> | null = null;
  beforeEach(() => {
    current = open();
  });
  afterEach(() => {
    current?.cleanup();
    current = null;
  });
  return () => {
    if (!current) throw new Error('no backbone is open (used outside a test?)');
    return current.backbone;
  };
}

/** The BitacoraError thrown by `fn`; fails the test if it throws nothing or something else. */
export function caught(fn: () => unknown): BitacoraError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BitacoraError) return err;
    throw new Error(`expected a BitacoraError, got: ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error, but the call succeeded');
}

/** Every event in the log (optionally of one type), oldest first. */
export function eventsOf(backbone: Backbone, type?: EventType): FleetEvent[] {
  const all: FleetEvent[] = [];
  for (let page = backbone.events.read(0, 1000); page.length > 0; page = backbone.events.read(page[page.length - 1]!.seq, 1000)) all.push(...page);
  return type === undefined ? all : all.filter((e) => e.type === type);
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
