import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, encodeAgentMessage } from '../rpc/codec.js';
import type { AgentMessage, TaskReports } from '../rpc/messages.js';
import { Outbox } from './outbox.js';
import { ReportBatcher } from './report-batcher.js';

type Reports = Extract<AgentMessage, { type: 'reports' }>;
const ok = { exitCode: 0, error: null, durationMs: 5 };
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function recording(options: { maxFrameBytes?: number; maxItems?: number } = {}): { batcher: ReportBatcher; frames: Reports[] } {
  const frames: Reports[] = [];
  const batcher = new ReportBatcher({ send: (m) => (frames.push(m as Reports), true), ...options });
  return { batcher, frames };
}

/** A frame as the coordinator applies it: started, output, finished, rejected. */
const applied = (r: TaskReports): string[] => [
  ...r.started.map((x) => `started ${x.taskId}`), ...r.output.map((x) => `output ${x.taskId}`),
  ...r.finished.map((x) => `finished ${x.taskId}`), ...r.rejected.map((x) => `rejected ${x.taskId}`),
];

describe('ReportBatcher', () => {
  it('sends a burst of reports made in one turn as one reports frame, at the end of the turn', async () => {
    const { batcher, frames } = recording();
    const outbox = new Outbox({ now: () => 1 });
    outbox.attach(batcher);
    for (let i = 0; i < 200; i++) {
      const ref = { taskId: `tsk_${i}`, attempt: 1 };
      outbox.begin(ref, 0);
      outbox.output(ref, 'stdout', `line ${i}\n`);
      outbox.finish(ref, ok);
    }
    batcher.rejected({ taskId: 'tsk_full', attempt: 1, reason: 'at capacity (4 running)' });
    expect(frames).toEqual([]);
    await nextTurn();
    expect(frames).toHaveLength(1);
    const [frame] = frames;
    expect([frame!.started.length, frame!.output.length, frame!.finished.length, frame!.rejected.length]).toEqual([200, 200, 200, 1]);
    // What goes on the wire is exactly that frame.
    expect(decodeAgentMessage(encodeAgentMessage(frame!))).toEqual(frame);
    await nextTurn();
    expect(frames).toHaveLength(1);
  });

  it('starts a new frame rather than let a report be applied before an earlier one of the same task', async () => {
    const { batcher, frames } = recording();
    batcher.finished({ taskId: 'a', attempt: 1, result: ok });
    batcher.started({ taskId: 'b', attempt: 1, at: 1 }); // another task: same frame
    batcher.started({ taskId: 'a', attempt: 2, at: 2 }); // would be applied before a#1's result
    batcher.output({ taskId: 'a', attempt: 2, seq: 0, stream: 'stdout', data: 'x', at: 3 });
    await nextTurn();
    expect(frames.map(applied)).toEqual([['started b', 'finished a'], ['started a', 'output a']]);
  });

  it('closes a frame at its byte budget and at the item limit', async () => {
    const bySize = recording({ maxFrameBytes: 10_000 });
    for (let seq = 0; seq < 5; seq++) bySize.batcher.output({ taskId: 't', attempt: 1, seq, stream: 'stdout', data: 'x'.repeat(4_000), at: 1 });
    await nextTurn();
    expect(bySize.frames.map((f) => f.output.map((c) => c.seq))).toEqual([[0, 1], [2, 3], [4]]);

    const byCount = recording({ maxItems: 3 });
    for (let i = 0; i < 7; i++) byCount.batcher.started({ taskId: `t${i}`, attempt: 1, at: 1 });
    await nextTurn();
    expect(byCount.frames.map((f) => f.started.length)).toEqual([3, 3, 1]);
  });

  it('drops what is pending when the stream goes (clear), and flushes on demand', async () => {
    const { batcher, frames } = recording();
    batcher.started({ taskId: 'a', attempt: 1, at: 1 });
    batcher.clear();
    await nextTurn();
    expect(frames).toEqual([]);
    batcher.rejected({ taskId: 'b', attempt: 1, reason: 'agent is shutting down' });
    batcher.flush();
    expect(frames.map(applied)).toEqual([['rejected b']]);
    await nextTurn();
    expect(frames).toHaveLength(1);
  });
});
