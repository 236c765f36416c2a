/** Public surface of the API client (CLI and dashboard). */
export { FleetClient, type FleetClientOptions } from './fleet-client.js';
export {
  LogbookClient, type ActionListQuery, type ApprovalDecision, type ApprovalListQuery, type LogActionInput, type ProjectPatch,
  type SessionListQuery, type SessionView, type SparkListQuery, type StartSessionInput, type TopicListQuery,
} from './logbook.js';
export { errorFromResponse, unreachable } from './errors.js';
export { SecurityClient, type AclPolicyView, type ApiTokenRequest, type AuditEntryView, type AuditVerificationView, type WhoAmI } from './security.js';
export type { FollowOptions, StreamClosed, StreamConnection, StreamQuery, WatchOptions } from './live.js';
export { dashboardLoginUrl, loginTokenFromHash } from './login-link.js';
export { browserSessionTransport, loginWithToken, type BrowserSessionTransport } from './browser-transport.js';
export { browserWebSocket, nodeWebSocket, type WebSocketFactory, type WebSocketLike } from './websocket.js';
export * from './types.js';
