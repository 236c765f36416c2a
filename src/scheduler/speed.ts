/**
 * Expected durations of one estimate key on every ready node, for one plan call. Few
 * samples are not trusted: they are blended with an optimistic prior (a fraction of the
 * best duration known in the fleet), so an unexplored node gets tried and learns its speed,
 * while its first slow runs quickly push it back. Tries made in the current plan count as
 * neutral samples, so one plan does not pour all its work onto an unknown node.
 */
import type { DurationEstimate } from './types.js';

export interface SpeedParams {
  /** Samples before an estimate is trusted. */
  minSamples: number;
  /** An unexplored node is presumed to take this fraction of the best known duration. */
  explorationFactor: number;
}

export class SpeedTable {
  private readonly expected: Float64Array;
  private readonly planned: Uint16Array;

  private constructor(
    private readonly means: Float64Array,
    private readonly samples: Uint16Array,
    /** The best known duration (trusted estimates first). */
    private readonly prior: number,
    private readonly params: SpeedParams,
  ) {
    this.expected = new Float64Array(means.length);
    this.planned = new Uint16Array(means.length);
    for (let i = 0; i < means.length; i++) this.recompute(i);
  }

  /**
   * `estimates[i]` is node i's estimate for the key (undefined when it has none). Returns
   * null when no node has one: then speed cannot tell nodes apart and is left out.
   */
  static build(estimates: ReadonlyArray<DurationEstimate | undefined>, params: SpeedParams): SpeedTable | null {
    const minSamples = Math.max(1, Math.floor(params.minSamples));
    const means = new Float64Array(estimates.length);
    const samples = new Uint16Array(estimates.length);
    let best = Infinity;
    let bestTrusted = Infinity;
    estimates.forEach((e, i) => {
      if (e === undefined || !(e.samples > 0) || !Number.isFinite(e.meanMs)) return;
      // 1 ms floor: a zero estimate would make every ratio infinite.
      means[i] = Math.max(1, e.meanMs);
      samples[i] = Math.min(e.samples, minSamples);
      best = Math.min(best, means[i] as number);
      if (e.samples >= minSamples) bestTrusted = Math.min(bestTrusted, means[i] as number);
    });
    if (best === Infinity) return null;
    const factor = params.explorationFactor > 0 && params.explorationFactor <= 1 ? params.explorationFactor : 1;
    return new SpeedTable(means, samples, bestTrusted !== Infinity ? bestTrusted : best, { minSamples, explorationFactor: factor });
  }

  /** Expected duration (ms) on node `i`. */
  expectedMs(i: number): number {
    return this.expected[i] as number;
  }

  /** Whether node `i`'s estimate rests on enough real samples. */
  trusted(i: number): boolean {
    return (this.samples[i] as number) >= this.params.minSamples;
  }

  /** A task of this key was placed on node `i` in this plan. */
  noteAssigned(i: number): void {
    if (this.trusted(i)) return;
    this.planned[i] = (this.planned[i] as number) + 1;
    this.recompute(i);
  }

  private recompute(i: number): void {
    const m = this.params.minSamples;
    const real = this.samples[i] as number;
    const tried = Math.min(this.planned[i] as number, m - real);
    const unknown = m - real - tried;
    const optimistic = this.prior * this.params.explorationFactor;
    this.expected[i] = ((this.means[i] as number) * real + this.prior * tried + optimistic * unknown) / m;
  }
}
