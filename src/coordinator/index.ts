/** Public surface of the coordinator: the Coordinator (a FleetService) and its options. */
export { Coordinator, type CoordinatorOptions, type CoordinatorState } from './coordinator.js';
export type { CreatedJoinToken, FleetService, FleetStatus, JoinInfo } from './fleet-service.js';
export { DEFAULT_SETTINGS, type CoordinatorSettings } from './options.js';
export type { SecretPort } from './membership.js';
export { silentLogger, type Logger } from './context.js';
export { CoordinatorUnavailableError, ProtocolViolationError, UnauthenticatedError } from './errors.js';
