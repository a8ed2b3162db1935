// Deterministic pseudo-random numbers for the simulator. No dependency, no Math.random:
// the same seed gives the same fleet on every machine and Node version.
//
// Generator: sfc32 ("Small Fast Counting", Chris Doty-Humphrey, from the PractRand suite),
// 128 bits of state in four int32s, passes PractRand to terabytes and costs a handful of
// integer ops per draw. State is seeded through splitmix32 so that nearby seeds and
// stream numbers give unrelated sequences. Every device owns a stream of its own
// (seed, stream = device index + 1), so one device's draws never shift another's.

/** FNV-1a 32-bit hash of the seed's decimal/string form: 42 and "42" are the same seed. */
export function hashSeed(seed: number | string): number {
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32-style finaliser: a bijection on 32 bits. */
function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

const TWO_32 = 4294967296;

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN; // second Box–Muller deviate

  /** seedHash: from hashSeed(); stream: any non-negative integer (0 = the planner). */
  constructor(seedHash: number, stream = 0) {
    let x = (seedHash ^ mix32(Math.imul(stream, 0x9e3779b1) + 0x632be5ab)) | 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      return mix32(x);
    };
    this.a = next() | 0;
    this.b = next() | 0;
    this.c = next() | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform integer in [0, 2^32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / TWO_32;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal deviate (Box–Muller, the second value cached). */
  normal(): number {
    const s = this.spare;
    if (s === s) {
      this.spare = NaN;
      return s;
    }
    let u = this.float();
    if (u < 1e-12) u = 1e-12;
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * this.float();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Index drawn with probability proportional to weights[i]. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** 16 lowercase hex digits (64 random bits). */
  hex16(): string {
    return this.u32().toString(16).padStart(8, '0') + this.u32().toString(16).padStart(8, '0');
  }
}
