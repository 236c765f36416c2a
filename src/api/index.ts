/** Public surface of the API edge: start the server; error mapping for other HTTP edges. */
export { startApiServer, buildApiApp, API_PREFIXES, type ApiServer, type ApiServerOptions } from './server.js';
export type { LogbookStore } from './routes/logbook-shared.js';
export { HTTP_STATUS, httpStatusOf, errorBody, type ErrorBody } from './errors.js';
export { prometheusText } from './routes/fleet.js';
export { SESSION_COOKIE, CSRF_HEADER, type RouteAccess, type UserPrincipal } from './auth.js';
export type { AuditSink } from './routes/logbook-shared.js';
