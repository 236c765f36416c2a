/**
 * One-shot first join outside the Agent runtime: dial without a client certificate, send the
 * join hello (token + CSR for a key made here), receive the node certificate. For tools that
 * speak the protocol themselves (benchmarks' simulated agents, protocol tests); the Agent
 * does the same inside its connect loop.
 *
 * The join token is a secret and travels only here, over gRPC with TLS whose server must chain
 * to `caCertPem` (the CA checked against the pinned `--ca-hash`, join-info.ts) — never over the
 * HTTP(S) side, which only serves the public join info.
 */
import { connectToCoordinator, type ConnectOptions, type CoordinatorLink } from '../rpc/client/index.js';
import { PROTOCOL_VERSION, type AgentNodeInfo } from '../rpc/messages.js';
import { AgentRefusedError } from './errors.js';
import { certificateMatchesKey, newKeyAndCsr } from './node-identity.js';

export interface EnrolledNode {
  nodeId: string;
  /** The node's private key (PKCS#8 PEM): keep it 0600, never send it anywhere. */
  keyPem: string;
  certPem: string;
}

export async function enrollNode(options: {
  address: string;
  caCertPem: string;
  token: string;
  node: AgentNodeInfo;
  connect?: (options: ConnectOptions) => CoordinatorLink;
  timeoutMs?: number;
}): Promise<EnrolledNode> {
  const pending = await newKeyAndCsr(options.node.name);
  const link = (options.connect ?? connectToCoordinator)({ address: options.address, caCertPem: options.caCertPem });
  return new Promise<EnrolledNode>((resolve, reject) => {
    let result: EnrolledNode | null = null;
    let refusal: Error | null = null;
    const timer = setTimeout(() => link.close('no answer to the join in time'), options.timeoutMs ?? 10_000);
    link.start({
      onMessage: (m) => {
        if (m.type === 'welcome' && m.certificatePem && certificateMatchesKey(m.certificatePem, pending.keyPem)) {
          result = { nodeId: m.nodeId, keyPem: pending.keyPem, certPem: m.certificatePem };
        } else if (m.type === 'error') {
          refusal = new AgentRefusedError(m.code, m.message);
        }
      },
      onInvalid: () => {},
      onClose: (reason) => {
        clearTimeout(timer);
        if (result) resolve(result);
        else reject(refusal ?? new Error(`join stream closed without a certificate: ${reason}`));
      },
    });
    link.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, joinToken: options.token, csrPem: pending.csrPem, node: options.node, running: [] });
  });
}
