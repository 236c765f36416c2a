/**
 * Safe names: project slugs, node names and workspace names end up in paths and shell
 * output, so they are restricted to a slug alphabet — no path traversal, no control characters.
 */
import { z } from 'zod';

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

export const slugSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(SLUG_PATTERN, 'must be a lowercase slug: a-z, 0-9, ".", "_" or "-", starting and ending with a letter or digit')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

/** Free text shown to humans: no control characters except tab/newline. */
export const textSchema = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s), 'must not contain control characters');

/** A person's name recorded on a session: one printable line, no path tricks. */
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SEPARATOR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
export const userNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine((s) => !CONTROL_OR_SEPARATOR.test(s), 'must not contain control characters')
  .refine((s) => !s.includes('..') && !/[\\/]/.test(s), 'must not contain "..", "/" or "\\"');

export const tagSchema = z.string().min(1).max(64).regex(/^[\w.:/-]+$/, 'tags are words: letters, digits, _ . : / -');

/** `docker`, `linux`; `:` namespaces what a node finds about itself (`os:linux`, `arch:x64`). */
export const capabilitySchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._:-]*$/, 'capabilities are lowercase words: a-z, 0-9, ".", "_", ":", "-"');

/**
 * The DNS name every master's server certificate carries and every agent checks it against
 * (gRPC `grpc.ssl_target_name_override`), whatever address it dials: TLS may not send an IP
 * address as the server name (RFC 6066; Node warns DEP0123), and the CA pin already says which
 * fleet the server belongs to. Under `.internal`, reserved for private use: never resolved.
 */
export const FLEET_SERVER_NAME = 'master.bitacora.internal';
