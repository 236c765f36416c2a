/**
 * Fleet-wide routes: health, join info (public), status and metrics (ReadState), live
 * configuration (UpdateConfiguration), emergency shutdown and resuming after it (EmergencyShutdown).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BitacoraError, ErrorCode, parseOrThrow } from '../../core/index.js';
import type { FleetService, FleetStatus } from '../../coordinator/fleet-service.js';
import { bodyOrEmpty, fleetFor, SMALL_BODY_LIMIT, type RouteDeps } from './shared.js';

type EmergencyTier = Parameters<FleetService['emergencyShutdown']>[0];
const EMERGENCY_TIERS = ['stop-dispatch', 'cancel-all', 'shutdown-nodes'] as const satisfies readonly EmergencyTier[];

const configPatchSchema = z
  .strictObject({
    heartbeatIntervalMs: z.number().int().min(50, 'must be at least 50 ms').max(60_000, 'must be at most 60000 ms').optional(),
    selfFenceAfterMs: z.number().int().min(100, 'must be at least 100 ms').max(3_600_000, 'must be at most 1 hour').optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'name at least one setting: heartbeatIntervalMs or selfFenceAfterMs');

const shutdownSchema = z.strictObject({
  tier: z.enum(EMERGENCY_TIERS, { message: `tier must be one of: ${EMERGENCY_TIERS.join(', ')}` }),
  reason: z.string().min(1).max(500).default('requested through the API'),
});

export function fleetRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.get('/join-info', { config: { public: true } }, async () => fleet.joinInfo());

  app.get('/status', { config: { operation: 'ReadState' } }, async () => fleet.status());

  app.patch('/config', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'UpdateConfiguration' } }, async (request) => {
    const patch = parseOrThrow(configPatchSchema, bodyOrEmpty(request.body), 'configuration');
    return fleetFor(fleet, request).updateConfiguration(patch);
  });

  app.post('/shutdown', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'EmergencyShutdown' } }, async (request, reply) => {
    const { tier, reason } = parseOrThrow(shutdownSchema, bodyOrEmpty(request.body), 'shutdown request');
    await fleetFor(fleet, request).emergencyShutdown(tier, reason);
    return reply.code(202).send({ tier, reason });
  });

  app.post('/resume', { bodyLimit: SMALL_BODY_LIMIT, config: { operation: 'EmergencyShutdown' } }, async (request) => {
    const acting = fleetFor(fleet, request);
    if (!acting.resumeDispatch) throw new BitacoraError(ErrorCode.Unavailable, 'this master cannot resume dispatch after an emergency shutdown');
    await acting.resumeDispatch();
    return fleet.status();
  });
}

/** Routes outside the versioned prefix: the health check and metrics. */
export function rootRoutes(app: FastifyInstance, { fleet }: RouteDeps): void {
  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true }));

  app.get('/metrics', { config: { operation: 'ReadState' } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusText(await fleet.status())),
  );
}

export function prometheusText(status: FleetStatus): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  const { total, ...byStatus } = status.nodes;
  gauge('bitacora_nodes', 'Nodes of the fleet by status.', Object.entries(byStatus).map(([s, v]) => [{ status: s }, v]));
  gauge('bitacora_nodes_total', 'Nodes known to the fleet.', [[{}, total]]);
  gauge('bitacora_tasks', 'Tasks by state.', Object.entries(status.tasks).map(([s, v]) => [{ state: s }, v]));
  gauge('bitacora_accepting_work', '1 when the fleet dispatches new work.', [[{}, status.acceptingWork ? 1 : 0]]);
  gauge('bitacora_heartbeat_interval_ms', 'Configured agent heartbeat interval.', [[{}, status.config.heartbeatIntervalMs]]);
  return `${lines.join('\n')}\n`;
}
