/** Shape of a numbered schema migration: SQL held in a TS module (the build copies only .ts output). */
export interface Migration {
  version: number;
  name: string;
  /** SQL run in the migration's transaction. */
  sql: string;
}
