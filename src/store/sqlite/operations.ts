/**
 * Which repository methods of the embedded backbone are writes (they go through the writer,
 * gathered into group commits) and which are reads (answered at once by the reader
 * connection). One table, so the facade, the writer thread and the tests agree.
 */
export const READS = {
  events: ['read', 'latestSeq'],
  kv: ['get', 'list'],
  nodes: ['get', 'getByName', 'list', 'credentialHash'],
  tasks: ['get', 'list', 'counts', 'pending', 'activeOn'],
  taskLogs: ['read'],
  joinTokens: ['list'],
  sessions: ['get', 'list', 'current'],
  projects: ['get', 'list'],
  topics: ['get', 'list'],
  approvals: ['get', 'list'],
  actions: ['get', 'list', 'inDoubt'],
  sparks: ['get', 'list'],
} as const;

export const WRITES = {
  events: ['append', 'appendMany'],
  kv: ['put', 'delete'],
  nodes: ['register', 'setStatus', 'setRole', 'updateInfo', 'recordHeartbeat', 'recordHeartbeats', 'remove'],
  tasks: ['submit', 'submitMany', 'assign', 'markRunning', 'complete', 'requeue', 'cancel', 'assignMany', 'recordReports', 'requeueMany', 'recordFenced'],
  taskLogs: ['append'],
  joinTokens: ['create', 'consume', 'revoke'],
  sessions: ['start', 'pause', 'resume', 'end', 'update'],
  projects: ['create', 'update'],
  topics: ['create', 'activate', 'setStatus', 'update'],
  approvals: ['request', 'decide', 'expire'],
  actions: ['create', 'setPhase', 'decide', 'finish'],
  sparks: ['add'],
} as const;

export type RepositoryName = keyof typeof WRITES;
export const REPOSITORIES = Object.keys(WRITES) as RepositoryName[];

/** One write as the writer receives it: a repository method and its (structured-cloneable) arguments. */
export interface WriteOp {
  repository: RepositoryName;
  method: string;
  args: unknown[];
}

export function isWrite(repository: RepositoryName, method: string): boolean {
  return (WRITES[repository] as readonly string[]).includes(method);
}
