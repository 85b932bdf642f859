// Vectors of one partition, quantized to int8 in WebAssembly memory: each vector is scaled so its largest component
// is ±127, and the inverse length of that integer vector is kept beside it. A 384-dimension chunk takes 384 bytes
// instead of 1,536, and cosines come back within a few thousandths of the float ones (exactly 1 for a vector with
// itself), far below what separates relevant from irrelevant.
// Memory layout: [query: width bytes][rows: capacity × width bytes][output: capacity × 4 bytes].
import { instantiateScan, type Scan } from "./dot-kernel.ts";

const PAGE = 65536;

export class VectorStore {
  /** Bytes per row: the dimensions rounded up to the kernel's 16-byte step (the padding stays zero). */
  readonly width: number;
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly scan: Scan;
  private capacity = 0;
  private rows = 0;
  private scales = new Float32Array(0);

  constructor(readonly dimensions: number) {
    this.width = Math.ceil(dimensions / 16) * 16;
    this.scan = instantiateScan(this.memory);
  }

  get size(): number {
    return this.rows;
  }

  /** Appends a row; an empty vector makes a row that is similar to nothing (keyword-only chunks). */
  append(vector: ArrayLike<number>): number {
    if (vector.length !== 0 && vector.length !== this.dimensions) {
      throw new Error(`embedding has ${vector.length} dimensions; this index holds ${this.dimensions}-dimension vectors`);
    }
    if (this.rows === this.capacity) this.grow();
    const row = this.rows++;
    this.scales[row] = quantize(vector, new Int8Array(this.memory.buffer, this.width + row * this.width, this.width));
    return row;
  }

  /** Cosine similarity of the query with every row, written to `out[0 … size)`. */
  similarities(query: ArrayLike<number>, out: Float32Array): void {
    if (query.length !== this.dimensions) {
      throw new Error(`query embedding has ${query.length} dimensions; this index holds ${this.dimensions}-dimension vectors`);
    }
    const queryScale = quantize(query, new Int8Array(this.memory.buffer, 0, this.width));
    const outOffset = this.width + this.capacity * this.width;
    this.scan(0, this.width, this.rows, this.width, outOffset);
    const dots = new Int32Array(this.memory.buffer, outOffset, this.rows);
    const scales = this.scales;
    for (let i = 0; i < this.rows; i++) out[i] = dots[i]! * scales[i]! * queryScale;
  }

  /** Moves every kept row to `newRow[row]` (-1 drops it); rows only move down, keeping their order. */
  compact(newRow: Int32Array, kept: number): void {
    const bytes = new Uint8Array(this.memory.buffer);
    for (let row = 0; row < this.rows; row++) {
      const to = newRow[row]!;
      if (to < 0 || to === row) continue;
      bytes.copyWithin(this.width + to * this.width, this.width + row * this.width, this.width + (row + 1) * this.width);
      this.scales[to] = this.scales[row]!;
    }
    this.rows = kept;
  }

  private grow(): void {
    this.capacity = Math.max(1024, this.capacity * 2);
    const needed = Math.ceil((this.width + this.capacity * this.width + this.capacity * 4) / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (needed > have) this.memory.grow(needed - have);
    const scales = new Float32Array(this.capacity);
    scales.set(this.scales);
    this.scales = scales;
  }
}

/**
 * Writes the int8 form of `vector` and returns 1 / its integer length, so products of two such factors and an
 * integer dot are the cosine of the two quantized directions (a vector's cosine with itself is exactly 1).
 */
function quantize(vector: ArrayLike<number>, into: Int8Array): number {
  let maxAbs = 0;
  for (let i = 0; i < vector.length; i++) maxAbs = Math.max(maxAbs, Math.abs(vector[i]!));
  into.fill(0);
  if (maxAbs === 0) return 0;
  const toInt = 127 / maxAbs;
  let sumSquares = 0;
  for (let i = 0; i < vector.length; i++) {
    const q = Math.round(vector[i]! * toInt);
    into[i] = q;
    sumSquares += q * q;
  }
  return 1 / Math.sqrt(sumSquares);
}
