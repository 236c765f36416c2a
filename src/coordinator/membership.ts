/**
 * Membership: admits an agent's hello. With node certificates (`certs`, production): a first
 * join arrives on a stream without a client certificate carrying a join token and a CSR — the
 * token is consumed, the node registered and its certificate issued, and that stream ends; a
 * rejoin is a mutual-TLS stream whose verified certificate names the node and its role (the
 * hello may not claim another). Without `certs` (legacy, tests): a `bnc_` credential is given
 * at join and checked at rejoin. Either way the protocol version must match, the node goes
 * ready (or stays draining), SyncState reconciles its tasks, and its stream becomes the node's
 * one live stream — a newer stream replaces an older one.
 */
import { BitacoraError, ConflictError, ErrorCode, isBitacoraError, type FleetNode } from '../core/index.js';
import { PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage } from '../rpc/messages.js';
import type { EventLog, JoinTokenRepository, TaskQueue } from '../store/backbone.js';
import type { FleetState } from './fleet-state.js';
import type { DispatchTrigger, Runtime } from './runtime.js';
import { checkCsr } from '../security/index.js';
import type { PeerCertificate } from '../rpc/server/index.js';
import { UnauthenticatedError } from './errors.js';
import type { NodeCertificates, PeerIdentity } from '../access/node-certs.js';
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
  /** First join with certificates: the welcome carries the certificate and the stream must end. */
  enrollOnly?: boolean;
  /** The verified certificate's identity (mutual-TLS rejoin). */
  identity?: PeerIdentity;
}

export class ForbiddenRoleError extends BitacoraError {
  override name = 'ForbiddenRoleError';
  constructor(message: string, details: Record<string, unknown>) {
    super(ErrorCode.Forbidden, message, { details });
  }
}

const TOKEN_ERRORS: readonly string[] = [ErrorCode.TokenInvalid, ErrorCode.TokenExpired, ErrorCode.TokenUsed, ErrorCode.TokenRevoked];

export interface MembershipDeps {
  runtime: Runtime;
  state: Pick<FleetState, 'roster' | 'active' | 'streams' | 'heldWork' | 'agentConfig'>;
  tasks: TaskQueue;
  joinTokens: JoinTokenRepository;
  events: EventLog;
  dispatch: DispatchTrigger;
  secrets: SecretPort;
  /** Node certificates: when set, identities come from mutual TLS only. */
  certs: NodeCertificates | null;
}

export class Membership {
  /** Node certificates: when set, identities come from mutual TLS only. */
  readonly certs: NodeCertificates | null;
  private readonly secrets: SecretPort;

  constructor(private readonly deps: MembershipDeps) {
    this.certs = deps.certs;
    this.secrets = deps.secrets;
  }

  /**
   * First join with certificates: checks the CSR (so a bad one does not burn the token), then
   * consumes the token, registers the node as 'joining' and issues its certificate. The node
   * becomes ready when it reconnects with that certificate.
   */
  async enroll(hello: Hello, address: string): Promise<Admission> {
    this.checkVersion(hello);
    if (!hello.joinToken || !hello.csrPem) {
      throw new UnauthenticatedError('this stream has no valid node certificate: it may only carry a join hello with a join token and a certificate request');
    }
    await checkCsr(hello.csrPem);
    const { node, role } = await this.consumeAndRegister(hello, hello.joinToken, address, null);
    let issued;
    try {
      issued = await this.certs!.issue(hello.csrPem, { nodeId: node.id, role }, this.deps.runtime.clock.now());
    } catch (err) {
      await this.deps.state.roster.setStatus(node.id, 'left', 'certificate could not be issued', this.deps.runtime.clock.now());
      throw err;
    }
    this.deps.runtime.log.info(`node ${node.name} enrolled as ${role}; certificate ${issued.serial} until ${new Date(issued.notAfter).toISOString()}`, { nodeId: node.id, address });
    return { node, joined: true, enrollOnly: true, welcome: { ...this.welcome(node.id, hello.running), certificatePem: issued.certPem } };
  }

  /** Rejoin on a mutual-TLS stream: identity and role from the verified certificate, never from the hello. */
  async rejoinWithCertificate(hello: Hello, address: string, peer: PeerCertificate | null): Promise<Admission> {
    this.checkVersion(hello);
    const identity = this.certs!.identify(peer);
    if (hello.node.role !== identity.role) {
      throw new ForbiddenRoleError(`the certificate of node ${identity.nodeId} says role '${identity.role}'; the hello claims '${hello.node.role}'`, {
        nodeId: identity.nodeId,
        certificateRole: identity.role,
        claimedRole: hello.node.role,
      });
    }
    // A node that left cleanly comes back with its certificate; a removed one is no longer in
    // the roster and a revoked one was refused by `identify`.
    const node = this.deps.state.roster.get(identity.nodeId);
    if (!node) {
      throw new UnauthenticatedError(`node ${identity.nodeId} is no longer a member: join again with a new token`, { details: { nodeId: identity.nodeId } });
    }
    return { ...(await this.readmit(identity.nodeId, hello, address)), identity };
  }

  /** A fresh certificate for a connected node (rotation, role change): role from the roster, which the admin controls. */
  async renew(nodeId: string, csrPem: string): Promise<{ certPem: string; serial: string; notAfter: number }> {
    const node = this.deps.state.roster.get(nodeId);
    if (!node || node.status === 'left') throw new UnauthenticatedError(`node ${nodeId} is no longer a member`);
    return this.certs!.issue(csrPem, { nodeId, role: node.role }, this.deps.runtime.clock.now());
  }

  /**
   * Admits or refuses `hello` from `address`. Throws BitacoraError (ProtocolVersion,
   * Token*, Unauthenticated, Conflict, Validation) with nothing registered; token refusals
   * are recorded as 'token.refused' here.
   */
  async admit(hello: Hello, address: string): Promise<Admission> {
    this.checkVersion(hello);
    if (hello.credential) return this.rejoin(hello, address);
    if (hello.joinToken) return this.join(hello, hello.joinToken, address);
    throw new UnauthenticatedError('hello carries neither a join token nor a node credential');
  }

  private checkVersion(hello: Hello): void {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      throw new BitacoraError(
        ErrorCode.ProtocolVersion,
        `agent speaks protocol ${hello.protocolVersion}, this coordinator speaks ${PROTOCOL_VERSION}: upgrade the older side`,
        { details: { agent: hello.protocolVersion, coordinator: PROTOCOL_VERSION } },
      );
    }
  }

  private async join(hello: Hello, token: string, address: string): Promise<Admission> {
    const secret = this.secrets.generateSecret('bnc_');
    const { node, role } = await this.consumeAndRegister(hello, token, address, this.secrets.hashSecret(secret));
    const ready = await this.deps.state.roster.setStatus(node.id, 'ready', 'joined', this.deps.runtime.clock.now());
    this.deps.runtime.log.info(`node ${ready.name} joined as ${role}`, { nodeId: ready.id, address });
    // A fresh node holds nothing of ours: whatever it reports is void.
    return { node: ready, joined: true, welcome: this.welcome(ready.id, hello.running, secret) };
  }

  /** Name check, token consumption, registration (status 'joining'). Token refusals are recorded as 'token.refused'. */
  private async consumeAndRegister(hello: Hello, token: string, address: string, credentialHash: string | null): Promise<{ node: FleetNode; role: 'worker' | 'hybrid' }> {
    const ctx = this.deps;
    const now = ctx.runtime.clock.now();
    const name = hello.node.name;
    // Check the name before consuming the token, so a clash does not burn it.
    const existing = ctx.state.roster.find(name);
    // 'joining' = enrolled but never connected with its certificate (e.g. crashed in between).
    const replaceable = existing && (existing.status === 'down' || existing.status === 'joining') && !ctx.state.streams.has(existing.id);
    if (existing && existing.status !== 'left' && !replaceable) {
      throw new ConflictError(`a node named '${name}' is already a member (${existing.id}, ${existing.status}); pick another --name or remove it first`, {
        retryable: false,
        details: { name, nodeId: existing.id },
      });
    }
    let role: 'worker' | 'hybrid';
    try {
      const record = await ctx.joinTokens.consume(this.secrets.hashSecret(token), name, now);
      // A worker token only makes workers; a hybrid token lets the agent choose.
      role = record.role === 'hybrid' ? hello.node.role : 'worker';
    } catch (err) {
      if (isBitacoraError(err) && TOKEN_ERRORS.includes(err.code)) {
        await ctx.events.append({ type: 'token.refused', subject: null, data: { code: err.code, reason: err.message, nodeName: name, address } });
      }
      throw err;
    }
    // A node that lost its data directory and joins again under its old name: the old
    // record (down, its tasks already requeued) leaves.
    if (existing && replaceable) await ctx.state.roster.setStatus(existing.id, 'left', `replaced by a new join under the same name`, now);
    const info = hello.node;
    const node = await ctx.state.roster.register(
      {
        name,
        role,
        capabilities: info.capabilities,
        specializations: info.specializations,
        capacity: info.capacity,
        resources: info.resources,
        agentVersion: info.agentVersion,
        // Certificate-identified nodes have no shared secret: an unusable placeholder hash.
        credentialHash: credentialHash ?? `cert:${this.secrets.hashSecret(this.secrets.generateSecret('bnc_'))}`,
        address,
      },
      now,
    );
    return { node, role };
  }

  private async rejoin(hello: Hello, address: string): Promise<Admission> {
    const ctx = this.deps;
    const { nodeId, secret } = hello.credential!;
    const stored = ctx.state.roster.get(nodeId) ? await ctx.state.roster.credentialHash(nodeId) : null;
    if (stored === null || !this.secrets.secretsEqual(this.secrets.hashSecret(secret), stored)) {
      throw new UnauthenticatedError(`unknown node or wrong credential for ${nodeId}: join again with a new token`, { details: { nodeId } });
    }
    return this.readmit(nodeId, hello, address);
  }

  /** The common part of every rejoin: info, status, SyncState. */
  private async readmit(nodeId: string, hello: Hello, address: string): Promise<Admission> {
    const ctx = this.deps;
    const now = ctx.runtime.clock.now();
    const info = hello.node;
    let node = await ctx.state.roster.updateInfo(
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
    if (node.status === 'left') node = await ctx.state.roster.setStatus(nodeId, 'joining', 'rejoined after leaving', now);
    if (node.status !== 'ready' && node.status !== 'draining') node = await ctx.state.roster.setStatus(nodeId, 'ready', 'reconnected', now);
    // Back before its lease ended: SyncState, not the lease timer, decides about its tasks.
    ctx.state.heldWork.release(nodeId);
    const sync = await applySync(ctx, nodeId, hello.running);
    if (sync.voidTasks.length + sync.requeue.length > 0) {
      ctx.runtime.log.info(`sync with ${node.name}: ${sync.keep.length} kept, ${sync.voidTasks.length} void, ${sync.requeue.length} requeued`, { nodeId });
    }
    return { node, joined: false, welcome: this.welcome(nodeId, sync.voidTasks) };
  }

  private welcome(nodeId: string, voidTasks: Admission['welcome']['voidTasks'], credentialSecret?: string): Admission['welcome'] {
    return {
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      ...(credentialSecret ? { credentialSecret } : {}),
      config: { ...this.deps.state.agentConfig },
      voidTasks,
    };
  }
}
