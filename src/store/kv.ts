/**
 * KeyValueStore — small shared state with compare-and-set (configuration, leader lease,
 * admin credential hash). JetStream mapping: a KV bucket; `revision` = its revision.
 */
export interface KvEntry<T = unknown> {
  key: string;
  value: T;
  /** Increases on every write of the key; 0 means "absent" for expectations. */
  revision: number;
  updatedAt: number;
}

export interface KeyValueStore {
  get<T = unknown>(key: string): Promise<KvEntry<T> | null>;
  /**
   * Writes `value`. With `expectedRevision` the write succeeds only if the key's current
   * revision equals it (0 = must not exist); otherwise throws ConflictError.
   * Appends a 'kv.updated' event unless `quiet` is set (hot keys such as leases).
   */
  put<T>(key: string, value: T, options?: { expectedRevision?: number; quiet?: boolean }): Promise<KvEntry<T>>;
  /** Deletes; with `expectedRevision`, only if it matches (ConflictError otherwise). */
  delete(key: string, options?: { expectedRevision?: number }): Promise<boolean>;
  /** Entries whose key starts with `prefix`, sorted by key. */
  list<T = unknown>(prefix: string): Promise<KvEntry<T>[]>;
}
