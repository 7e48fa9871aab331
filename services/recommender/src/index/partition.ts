// One language of the content index: item metadata by row plus one vector space per bundle (one for
// a single model, M for an ensemble). Rows are append-only; deletes leave holes that a compaction
// removes once they are a large enough fraction, which is also when HNSW graphs are rebuilt
// (hnswlib's markDelete keeps deleted nodes in the graph, so search quality slowly degrades).
import hnswlib from 'hnswlib-node';
import { TopK } from '../selection/topk.js';
import type { IndexOptions, ItemMeta, SearchFilter, SearchHit } from './types.js';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/** Float32 rows of one space, grown by doubling. */
export class VectorSpace {
  data: Float32Array;
  hnsw: Hnsw | null = null;

  constructor(readonly dim: number, capacityRows = 64) {
    this.data = new Float32Array(Math.max(1, capacityRows) * dim);
  }

  ensureRows(rows: number): void {
    if (rows * this.dim <= this.data.length) return;
    let cap = this.data.length / this.dim;
    while (cap < rows) cap *= 2;
    const next = new Float32Array(cap * this.dim);
    next.set(this.data);
    this.data = next;
  }

  setRow(row: number, v: Float32Array): void {
    this.ensureRows(row + 1);
    this.data.set(v, row * this.dim);
  }

  row(row: number): Float32Array {
    return this.data.subarray(row * this.dim, (row + 1) * this.dim);
  }

  dot(row: number, q: Float32Array): number {
    const d = this.data;
    let s = 0;
    for (let i = 0, o = row * this.dim; i < this.dim; i++, o++) s += d[o] * q[i];
    return s;
  }
}

export class LanguagePartition {
  /** row → metadata; null where the item was deleted or replaced. */
  rows: (ItemMeta | null)[] = [];
  readonly idToRow = new Map<string, number>();
  readonly spaces: VectorSpace[];
  private deadInGraph = 0;

  constructor(
    readonly language: string,
    dims: readonly number[],
    private readonly opts: IndexOptions,
  ) {
    this.spaces = dims.map((d) => new VectorSpace(d));
  }

  get live(): number {
    return this.idToRow.size;
  }

  get kind(): 'exact' | 'hnsw' {
    return this.spaces[0].hnsw ? 'hnsw' : 'exact';
  }

  /** Appends an item (the caller removed any older row of the same id first). */
  add(meta: ItemMeta, vectors: readonly Float32Array[]): void {
    const row = this.rows.length;
    this.rows.push(meta);
    this.idToRow.set(meta.id, row);
    vectors.forEach((v, s) => this.spaces[s].setRow(row, v));
    for (let s = 0; s < this.spaces.length; s++) {
      const h = this.spaces[s].hnsw;
      if (!h) continue;
      if (h.getCurrentCount() >= h.getMaxElements()) h.resizeIndex(h.getMaxElements() * 2);
      h.addPoint(Array.from(vectors[s]), row);
    }
  }

  remove(id: string): boolean {
    const row = this.idToRow.get(id);
    if (row === undefined) return false;
    this.idToRow.delete(id);
    this.rows[row] = null;
    for (const sp of this.spaces) sp.hnsw?.markDelete(row);
    if (this.kind === 'hnsw') this.deadInGraph++;
    return true;
  }

  /** After a batch of writes: switch exact↔HNSW on size, compact when many rows are dead. */
  maintain(): void {
    const dead = this.rows.length - this.live;
    if (dead >= this.opts.compactMinDead && dead >= this.opts.compactDeadFraction * this.rows.length) this.compact();
    if (this.kind === 'exact' && this.live >= this.opts.exactBelow) this.buildGraphs();
    else if (this.kind === 'hnsw' && this.live < this.opts.exactBelow / 2) this.dropGraphs(); // hysteresis: no flapping at the threshold
  }

  /** Rewrites storage without the holes (rows renumbered, insertion order kept), rebuilding graphs. */
  compact(): void {
    const hadGraph = this.kind === 'hnsw';
    const keep: number[] = [];
    this.rows.forEach((m, r) => m && keep.push(r));
    const spaces = this.spaces.map((sp) => {
      const next = new VectorSpace(sp.dim, keep.length);
      keep.forEach((r, i) => next.data.set(sp.row(r), i * sp.dim));
      return next;
    });
    this.rows = keep.map((r) => this.rows[r]);
    this.idToRow.clear();
    this.rows.forEach((m, r) => this.idToRow.set(m!.id, r));
    spaces.forEach((sp, i) => {
      this.spaces[i].hnsw = null;
      this.spaces[i].data = sp.data;
    });
    this.deadInGraph = 0;
    if (hadGraph) this.buildGraphs();
  }

  buildGraphs(): void {
    for (const sp of this.spaces) {
      const h = new HierarchicalNSW('ip', sp.dim);
      h.initIndex(Math.max(1024, 2 * this.rows.length), this.opts.hnswM, this.opts.hnswEfConstruction, this.opts.randomSeed);
      this.rows.forEach((m, r) => {
        if (m) h.addPoint(Array.from(sp.row(r)), r);
      });
      sp.hnsw = h;
    }
    this.deadInGraph = 0;
  }

  private dropGraphs(): void {
    for (const sp of this.spaces) sp.hnsw = null;
    this.deadInGraph = 0;
  }

  /** Loads a persisted graph for space s (rows and metadata already loaded). */
  attachGraph(s: number, graphFile: string): void {
    const h = new HierarchicalNSW('ip', this.spaces[s].dim);
    h.readIndexSync(graphFile);
    this.spaces[s].hnsw = h;
    this.deadInGraph = this.rows.length - this.live;
  }

  get graphDeleted(): number {
    return this.deadInGraph;
  }

  /** Mean over spaces of the query·row dot products, rounded to float32 like numpy's float32 matmul. */
  private score(row: number, queries: readonly Float32Array[]): number {
    if (queries.length === 1) return Math.fround(this.spaces[0].dot(row, queries[0]));
    let s = 0;
    for (let i = 0; i < queries.length; i++) s += Math.fround(this.spaces[i].dot(row, queries[i]));
    return Math.fround(s / queries.length);
  }

  private accepts(meta: ItemMeta, filter?: SearchFilter): boolean {
    return !filter?.channels || (meta.channelId !== undefined && filter.channels.has(meta.channelId));
  }

  /** Exact top-k over every live row that passes the filter. */
  searchExact(queries: readonly Float32Array[], k: number, filter?: SearchFilter): SearchHit[] {
    const top = new TopK(k);
    for (let r = 0; r < this.rows.length; r++) {
      const m = this.rows[r];
      if (m && this.accepts(m, filter)) top.push(r, this.score(r, queries));
    }
    return top.sorted().map((c) => ({ item: this.rows[c.index]!, score: c.score, row: c.index }));
  }

  /**
   * Top-k by (mean) cosine. HNSW partitions: each space's graph proposes candidates, which are
   * rescored exactly from the stored vectors (so scores do not depend on the search path and an
   * ensemble's mean is exact for every proposed item; each space then proposes efSearch items, not
   * just k). With a channel filter the graph search
   * over-fetches; when too few proposals survive the filter, the exact search over the filtered
   * rows answers instead.
   */
  search(queries: readonly Float32Array[], k: number, filter?: SearchFilter, efSearch = this.opts.hnswEfSearch): SearchHit[] {
    if (k <= 0 || this.live === 0) return [];
    if (this.kind === 'exact') return this.searchExact(queries, k, filter);
    let fetch = filter?.channels ? k * this.opts.filterOverfetch : k;
    // Ensembles: the best items by MEAN cosine need not be in any single space's top k, so each
    // space proposes a whole beam (efSearch items cost about the same search as k).
    if (this.spaces.length > 1) fetch = Math.max(fetch, efSearch);
    fetch = Math.min(this.rows.length, fetch);
    const proposed = new Set<number>();
    this.spaces.forEach((sp, s) => {
      sp.hnsw!.setEf(Math.max(efSearch, fetch));
      for (const r of sp.hnsw!.searchKnn(Array.from(queries[s]), fetch).neighbors) proposed.add(r);
    });
    const top = new TopK(k);
    for (const r of proposed) {
      const m = this.rows[r];
      if (m && this.accepts(m, filter)) top.push(r, this.score(r, queries));
    }
    const hits = top.sorted();
    if (filter?.channels && hits.length < k) {
      let available = 0;
      for (const m of this.rows) if (m && this.accepts(m, filter)) available++;
      if (available > hits.length) return this.searchExact(queries, k, filter);
    }
    return hits.map((c) => ({ item: this.rows[c.index]!, score: c.score, row: c.index }));
  }
}
