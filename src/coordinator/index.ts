/** Public surface of the coordinator: the Coordinator (a FleetService) and its options. */
export { Coordinator, type AgentEndpoint, type CoordinatorOptions, type CoordinatorState } from './coordinator.js';
export type { AccessService, CreatedJoinToken, FleetService, FleetStatus, JoinInfo } from './fleet-service.js';
export { AccessControl, ForbiddenError, LOGIN_TOKEN_TTL_MS, actorOf, type Actor, type SystemActor } from '../access/access-control.js';
export { DEFAULT_SETTINGS, type CoordinatorSettings } from './options.js';
export type { SecretPort } from './membership.js';
export { silentLogger, type Logger } from './runtime.js';
export { CoordinatorUnavailableError, ProtocolViolationError, UnauthenticatedError } from './errors.js';
