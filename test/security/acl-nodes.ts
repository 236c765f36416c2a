/**
 * Hand-driven nodes of a chosen role for the end-to-end ACL matrix: RawAgent joins only as a
 * worker, the matrix also needs hybrid certificates. Enrols with a join token of the role (the
 * certificate then names it), opens the mutual-TLS stream and says hello.
 */
import { enrollNode } from '../../src/agent/index.js';
import { PROTOCOL_VERSION, type AgentNodeInfo, type CoordinatorMessage, type TaskRef } from '../../src/rpc/messages.js';
import { RawAgent, type RawAgentMaster, type RawIdentity } from '../helpers/faults/raw-agent.js';

export interface RawNode {
  node: AgentNodeInfo;
  identity: RawIdentity;
  agent: RawAgent;
}

/** Joins a node of `role` with a fresh join token of that role. */
export async function joinRawNode(master: RawAgentMaster, name: string, role: 'worker' | 'hybrid', capacity: number): Promise<RawNode> {
  const info = (await (await fetch(`${master.info.httpUrl}/v1/join-info`)).json()) as { caCertPem: string };
  const node: AgentNodeInfo = {
    name, role, capabilities: [], specializations: [], capacity, resources: { cpus: 1, memoryBytes: 1 << 30, load: 0 }, agentVersion: 'acl-e2e',
  };
  const identity = await enrollNode({ address: master.info.grpcAddress, caCertPem: info.caCertPem, token: (await master.createToken(role)).token, node });
  return { node, identity, agent: await helloWith(master, node, identity, []) };
}

/** A new stream of an enrolled node (its previous stream, if any, is replaced). */
export async function reconnectRawNode(master: RawAgentMaster, raw: RawNode, running: TaskRef[] = []): Promise<RawNode> {
  raw.agent.close();
  return { ...raw, agent: await helloWith(master, raw.node, raw.identity, running) };
}

/** Opens a mutual-TLS stream and sends hello; resolves with the agent and its first answer (welcome or fatal error). */
export async function helloAnswer(master: RawAgentMaster, node: AgentNodeInfo, identity: RawIdentity, running: TaskRef[]): Promise<{ agent: RawAgent; answer: CoordinatorMessage }> {
  const agent = await RawAgent.open(master, node.name, identity);
  agent.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, node, running });
  const answer = await agent.until('welcome or error', (m) => m.type === 'welcome' || m.type === 'error');
  return { agent, answer };
}

async function helloWith(master: RawAgentMaster, node: AgentNodeInfo, identity: RawIdentity, running: TaskRef[]): Promise<RawAgent> {
  const { agent, answer } = await helloAnswer(master, node, identity, running);
  if (answer.type !== 'welcome') {
    agent.close();
    throw new Error(`raw node ${node.name} refused: ${answer.type === 'error' ? `${answer.code}: ${answer.message}` : answer.type}`);
  }
  return agent;
}
