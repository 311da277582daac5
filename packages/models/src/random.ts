/**
 * A small seeded generator (SplitMix32-style mixing of a Weyl sequence): the same seed gives the
 * same numbers on every platform and backend, which makes initialisation, batches, dropout and
 * sampling reproducible.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed))
      throw new Error(`SeededRandom: seed must be a finite number, got ${seed}`);
    this.state = Math.floor(seed) >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  nextNormal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A generator seeded from this one, for an independent stream. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}

/** A seed for when the caller gave none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
