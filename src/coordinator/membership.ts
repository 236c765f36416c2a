/**
 * Membership: admits an agent's hello. First join: a one-time join token is consumed, the
 * node registered and given a long-lived credential (only its hash is stored). Rejoin: the
 * credential is checked. Either way the protocol version must match, the node goes ready
 * (or stays draining), SyncState reconciles its tasks, and its stream becomes the node's one
 * live stream — a newer stream replaces an older one.
 */
import { BitacoraError, ConflictError, ErrorCode, isBitacoraError, type FleetNode } from '../core/index.js';
import { PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage } from '../rpc/messages.js';
import type { CoordinatorContext } from './context.js';
import { UnauthenticatedError } from './errors.js';
import { applySync } from './sync.js';

export type Hello = Extract<AgentMessage, { type: 'hello' }>;

/** Secret handling, passed in (security/ in production). */
export interface SecretPort {
  generateSecret(prefix: string): string;
  /** Stable hash to store instead of the secret. */
  hashSecret(secret: string): string;
  /** Constant-time comparison of two hashes. */
  secretsEqual(a: string, b: string): boolean;
}

export interface Admission {
  node: FleetNode;
  welcome: Extract<CoordinatorMessage, { type: 'welcome' }>;
  /** true on first join. */
  joined: boolean;
}

const TOKEN_ERRORS: readonly string[] = [ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.TokenUsed, ErrorCode.TokenRevoked];

export class Membership {
  constructor(private readonly ctx: CoordinatorContext, private readonly secrets: SecretPort) {}

  /**
   * Admits or refuses `hello` from `address`. Throws BitacoraError (ProtocolVersion,
   * Token*, Unauthenticated, Conflict, Validation) with nothing registered; token refusals
   * are recorded as 'token.refused' here.
   */
  admit(hello: Hello, address: string): Admission {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      throw new BitacoraError(
        ErrorCode.ProtocolVersion,
        `agent speaks protocol ${hello.protocolVersion}, this coordinator speaks ${PROTOCOL_VERSION}: upgrade the older side`,
        { details: { agent: hello.protocolVersion, coordinator: PROTOCOL_VERSION } },
      );
    }
    if (hello.credential) return this.rejoin(hello, address);
    if (hello.joinToken) return this.join(hello, hello.joinToken, address);
    throw new UnauthenticatedError('hello carries neither a join token nor a node credential');
  }

  private join(hello: Hello, token: string, address: string): Admission {
    const { ctx } = this;
    const now = ctx.clock.now();
    const name = hello.node.name;
    // Check the name before consuming the token, so a clash does not burn it.
    const existing = ctx.roster.find(name);
    if (existing && existing.status !== 'left' && (existing.status !== 'down' || ctx.sessions.has(existing.id))) {
      throw new ConflictError(`a node named '${name}' is already a member (${existing.id}, ${existing.status}); pick another --name or remove it first`, {
        retryable: false,
        details: { name, nodeId: existing.id },
      });
    }
    let role: 'worker' | 'hybrid';
    try {
      const record = ctx.backbone.joinTokens.consume(this.secrets.hashSecret(token), name, now);
      // A worker token only makes workers; a hybrid token lets the agent choose.
      role = record.role === 'hybrid' ? hello.node.role : 'worker';
    } catch (err) {
      if (isBitacoraError(err) && TOKEN_ERRORS.includes(err.code)) {
        ctx.backbone.events.append({ type: 'token.refused', subject: null, data: { code: err.code, reason: err.message, nodeName: name, address } });
      }
      throw err;
    }
    // A node that lost its data directory and joins again under its old name: the old
    // record (down, its tasks already requeued) leaves.
    if (existing && existing.status === 'down') ctx.roster.setStatus(existing.id, 'left', `replaced by a new join under the same name`, now);
    const secret = this.secrets.generateSecret('bnc_');
    const info = hello.node;
    let node = ctx.roster.register(
      {
        name,
        role,
        capabilities: info.capabilities,
        specializations: info.specializations,
        capacity: info.capacity,
        resources: info.resources,
        agentVersion: info.agentVersion,
        credentialHash: this.secrets.hashSecret(secret),
        address,
      },
      now,
    );
    node = ctx.roster.setStatus(node.id, 'ready', 'joined', now);
    ctx.log.info(`node ${name} joined as ${role}`, { nodeId: node.id, address });
    // A fresh node holds nothing of ours: whatever it reports is void.
    return { node, joined: true, welcome: this.welcome(node.id, hello.running, secret) };
  }

  private rejoin(hello: Hello, address: string): Admission {
    const { ctx } = this;
    const now = ctx.clock.now();
    const { nodeId, secret } = hello.credential!;
    const stored = ctx.roster.get(nodeId) ? ctx.roster.credentialHash(nodeId) : null;
    if (stored === null || !this.secrets.secretsEqual(this.secrets.hashSecret(secret), stored)) {
      throw new UnauthenticatedError(`unknown node or wrong credential for ${nodeId}: join again with a new token`, { details: { nodeId } });
    }
    const info = hello.node;
    let node = ctx.roster.updateInfo(
      nodeId,
      {
        capabilities: info.capabilities,
        specializations: info.specializations,
        capacity: info.capacity,
        resources: info.resources,
        agentVersion: info.agentVersion,
        address,
      },
      now,
    );
    if (node.status === 'left') node = ctx.roster.setStatus(nodeId, 'joining', 'rejoined after leaving', now);
    if (node.status !== 'ready' && node.status !== 'draining') node = ctx.roster.setStatus(nodeId, 'ready', 'reconnected', now);
    const sync = applySync(ctx, nodeId, hello.running);
    if (sync.voidTasks.length + sync.requeue.length > 0) {
      ctx.log.info(`sync with ${node.name}: ${sync.keep.length} kept, ${sync.voidTasks.length} void, ${sync.requeue.length} requeued`, { nodeId });
    }
    return { node, joined: false, welcome: this.welcome(nodeId, sync.voidTasks) };
  }

  private welcome(nodeId: string, voidTasks: Admission['welcome']['voidTasks'], credentialSecret?: string): Admission['welcome'] {
    return {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      ...(credentialSecret ? { credentialSecret } : {}),
      config: { ...this.ctx.agentConfig },
      voidTasks,
    };
  }
}
