/** Migration 001: the initial schema of the embedded backbone (events, kv, fleet, queue, logbook). */
import type { Migration } from './migration.js';

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
-- Outbox: every state change, gap-free increasing seq (rowid; rows are never deleted).
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  data TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);

-- Monotonic counters (kv revisions are global, like JetStream's, so a deleted and recreated
-- key never repeats a revision someone may still hold).
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  revision INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  capabilities TEXT NOT NULL,
  specializations TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  resources TEXT NOT NULL,
  status TEXT NOT NULL,
  running_tasks INTEGER NOT NULL DEFAULT 0,
  last_heartbeat_at INTEGER,
  joined_at INTEGER NOT NULL,
  agent_version TEXT NOT NULL,
  address TEXT,
  credential_hash TEXT NOT NULL
);
-- Names are unique among nodes that have not left.
CREATE UNIQUE INDEX nodes_live_name ON nodes (name) WHERE status <> 'left';

-- The queue. seq (rowid) is the FIFO key; the spec is one canonical JSON text, which is
-- also what idempotent re-submissions are compared with.
CREATE TABLE tasks (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  project TEXT,
  idempotency_key TEXT,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  infra_failures INTEGER NOT NULL DEFAULT 0,
  user_failures INTEGER NOT NULL DEFAULT 0,
  node_id TEXT,
  exit_code INTEGER,
  error TEXT,
  created_at INTEGER NOT NULL,
  assigned_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX tasks_state_seq ON tasks (state, seq);
CREATE INDEX tasks_node_state ON tasks (node_id, state) WHERE node_id IS NOT NULL;
CREATE INDEX tasks_project_seq ON tasks (project, seq) WHERE project IS NOT NULL;
CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE task_logs (
  task_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  stream TEXT NOT NULL,
  data TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (task_id, attempt, seq)
) WITHOUT ROWID;

CREATE TABLE join_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  used_by TEXT,
  revoked_at INTEGER,
  created_by TEXT NOT NULL
);

CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  repository TEXT,
  status TEXT NOT NULL,
  workspace TEXT NOT NULL UNIQUE,
  pinned_nodes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- A session's project is a label: a pipeline run starts its session before it creates the project.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  project TEXT,
  status TEXT NOT NULL,
  description TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  paused_ms INTEGER NOT NULL DEFAULT 0,
  paused_at INTEGER,
  primary_node TEXT,
  participating_nodes TEXT NOT NULL,
  strategy TEXT NOT NULL,
  sync_interval_ms INTEGER NOT NULL,
  last_sync_at INTEGER
);
CREATE INDEX sessions_status ON sessions (status, started_at);

CREATE TABLE topics (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL REFERENCES projects (name),
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  risk TEXT NOT NULL,
  estimated_hours REAL,
  actual_hours REAL,
  depends_on TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX topics_project ON topics (project, created_at);
-- At most one topic in progress per project (the repository checks first, for a clear error).
CREATE UNIQUE INDEX topics_one_in_progress ON topics (project) WHERE status = 'in-progress';

CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  topic_id TEXT NOT NULL REFERENCES topics (id),
  project TEXT NOT NULL,
  reason TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by TEXT,
  note TEXT
);
CREATE INDEX approvals_state ON approvals (state, expires_at);

CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  session_id TEXT REFERENCES sessions (id),
  topic_id TEXT REFERENCES topics (id),
  project TEXT,
  type TEXT NOT NULL,
  description TEXT NOT NULL,
  tags TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  command TEXT,
  participants TEXT NOT NULL,
  phase TEXT NOT NULL,
  decision TEXT,
  outcome TEXT
);
CREATE INDEX actions_session ON actions (session_id, started_at);
CREATE INDEX actions_topic ON actions (topic_id, started_at);
CREATE INDEX actions_phase ON actions (phase, started_at);

CREATE TABLE sparks (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  content TEXT NOT NULL,
  tags TEXT NOT NULL,
  session_id TEXT REFERENCES sessions (id),
  topic_id TEXT REFERENCES topics (id),
  project TEXT,
  related_actions TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  command TEXT,
  result TEXT
);
CREATE INDEX sparks_session ON sparks (session_id, created_at);
`,
};
