/**
 * Users, their tokens and the ACL policy, over AccessService: `GET|POST /v1/users`,
 * `DELETE /v1/users/:name` (ManageUsers); `POST /v1/api-tokens`, `POST /v1/login-tokens`,
 * `GET /v1/tokens`, `POST /v1/tokens/:id/revoke` (ManageTokens); `GET|PUT /v1/acl`
 * (ManagePolicy); `GET /v1/whoami` (any user, about themselves). Every change is audited by the
 * access service under the caller's name.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow, slugSchema, USER_ROLE_NAMES } from '../../core/index.js';
import type { SessionStore } from '../sessions.js';
import { bodyOrEmpty, idParamSchema, SMALL_BODY_LIMIT, ttlSchema, type AccessDeps } from './shared.js';

export interface AccessRouteDeps extends AccessDeps {
  /** Sessions of a removed user end with it. */
  sessions: SessionStore;
}

/** A policy with many users or groups stays far below this. */
export const ACL_BODY_LIMIT = 64 * 1024;

const roleSchema = z.enum(USER_ROLE_NAMES, { message: `role must be one of: ${USER_ROLE_NAMES.join(', ')}` });
const userNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][\w.-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');

const newUserSchema = z.strictObject({
  name: userNameSchema,
  role: roleSchema,
  projects: z.array(slugSchema).min(1, 'name at least one project (or leave projects out)').max(256).optional(),
});

const newApiTokenSchema = z.strictObject({
  user: userNameSchema,
  role: roleSchema.optional(),
  ttl: ttlSchema.optional(),
  label: z.string().min(1).max(200).optional(),
});

const newLoginTokenSchema = z.strictObject({
  user: userNameSchema,
  ttl: ttlSchema.optional(),
});

const userParamSchema = z.object({ name: userNameSchema });

export function accessRoutes(app: FastifyInstance, { access, sessions }: AccessRouteDeps): void {
  const users = { config: { operation: 'ManageUsers' } } as const;
  const tokens = { config: { operation: 'ManageTokens' } } as const;
  const policy = { config: { operation: 'ManagePolicy' } } as const;

  app.get('/whoami', { config: { self: true } }, async (request) => {
    const who = request.principal!;
    return { user: who.name, role: who.role, ...(who.projects ? { projects: [...who.projects] } : {}), via: request.authVia };
  });

  app.get('/users', users, async () => access.listUsers());

  app.post('/users', { ...users, bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const body = parseOrThrow(newUserSchema, bodyOrEmpty(request.body), 'user');
    const created = await access.addUser({ name: body.name, role: body.role, ...(body.projects ? { projects: body.projects } : {}) }, request.principal!);
    return reply.code(201).send(created);
  });

  app.delete('/users/:name', users, async (request, reply) => {
    const { name } = parseOrThrow(userParamSchema, request.params, 'user name');
    await access.removeUser(name, request.principal!);
    sessions.deleteUser(name);
    await sessions.saved();
    return reply.code(204).send();
  });

  app.post('/api-tokens', { ...tokens, bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const body = parseOrThrow(newApiTokenSchema, bodyOrEmpty(request.body), 'API token request');
    const created = await access.createApiToken(
      {
        user: body.user,
        ...(body.role ? { role: body.role } : {}),
        ...(body.ttl !== undefined ? { ttlMs: body.ttl } : {}),
        ...(body.label ? { label: body.label } : {}),
      },
      request.principal!,
    );
    return reply.code(201).send(created);
  });

  app.post('/login-tokens', { ...tokens, bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    const body = parseOrThrow(newLoginTokenSchema, bodyOrEmpty(request.body), 'login token request');
    return reply.code(201).send(await access.createLoginToken(body.user, request.principal!, body.ttl));
  });

  app.get('/tokens', tokens, async () => access.listTokens());

  app.post('/tokens/:id/revoke', { ...tokens, bodyLimit: SMALL_BODY_LIMIT }, async (request) => {
    const { id } = parseOrThrow(idParamSchema, request.params, 'token id');
    return access.revokeToken(id, request.principal!);
  });

  app.get('/acl', policy, async () => access.aclPolicy());

  app.put('/acl', { ...policy, bodyLimit: ACL_BODY_LIMIT }, async (request) => access.setAclPolicy(bodyOrEmpty(request.body), request.principal!));
}
