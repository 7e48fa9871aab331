// The benchmark vectors written by bench/vectors.py (real embeddings + perturbed copies, queries,
// exact ground truth) and a service LanguagePartition filled with the first n of them.
import fs from 'node:fs';
import path from 'node:path';
import { LanguagePartition } from '../../services/recommender/src/index/partition.js';
import { DEFAULT_INDEX_OPTIONS, type IndexOptions, type ItemMeta } from '../../services/recommender/src/index/types.js';
import { OUT, bundleChoice, readJson, type BundleChoice } from './common.js';

export interface VectorsMeta {
  dataset: string;
  variant: string;
  bundle_version: string;
  dim: number;
  total: number;
  real: number;
  queries: number;
  k_max: number;
  sizes: number[];
  augmentation: Record<string, number>;
}

export interface Items {
  ids: string[];
  titles: string[];
  languages: string[];
  kinds: string[] | null;
}

export function vectorsDir(choice: BundleChoice): string {
  return path.join(OUT, 'vectors', `${choice.version}-${choice.default_variant}`);
}

function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** Where bench/index.ts caches built HNSW graphs (with their measured build time) for these vectors. */
export function cacheDir(): string {
  return path.join(OUT, 'index-cache', path.basename(vectorsDir(bundleChoice())));
}

export function graphFile(n: number, M: number, efConstruction: number): string {
  return path.join(cacheDir(), `n${n}-M${M}-efc${efConstruction}.hnsw`);
}

export class BenchVectors {
  readonly meta: VectorsMeta;
  readonly items: Items;
  readonly base: Float32Array;
  readonly queries: Float32Array;

  constructor(readonly dir: string) {
    this.meta = readJson<VectorsMeta>(path.join(dir, 'meta.json'));
    this.items = readJson<Items>(path.join(dir, 'items.json'));
    this.base = readF32(path.join(dir, 'base.f32'));
    this.queries = readF32(path.join(dir, 'queries.f32'));
  }

  row(i: number): Float32Array {
    return this.base.subarray(i * this.meta.dim, (i + 1) * this.meta.dim);
  }

  query(i: number): Float32Array {
    return this.queries.subarray(i * this.meta.dim, (i + 1) * this.meta.dim);
  }

  /** Exact top-k_max row numbers of every query over the first n rows (best first). */
  groundTruth(n: number): Int32Array {
    const buf = fs.readFileSync(path.join(this.dir, `gt-${n}.i32`));
    return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }

  /** Item metadata of row i: real rows keep their id and title; copies get a new id (source id + ~copy number). */
  itemMeta(i: number): ItemMeta {
    const src = i % this.meta.real;
    const copy = Math.floor(i / this.meta.real);
    const id = copy === 0 ? this.items.ids[src] : `${this.items.ids[src]}~${copy}`;
    const meta: ItemMeta = { id, language: this.items.languages[src], title: this.items.titles[src] };
    if (this.items.kinds) meta.kind = this.items.kinds[src];
    return meta;
  }

  /** A service partition holding rows 0..n-1, without a graph (exact) until buildGraphs/attachGraph. */
  partition(n: number, opts: Partial<IndexOptions> = {}): LanguagePartition {
    const languages = new Set(this.items.languages);
    if (languages.size !== 1) throw new Error(`${this.dir}: the benchmark dataset must have one language, has ${[...languages].join(', ')}`);
    const options: IndexOptions = { ...DEFAULT_INDEX_OPTIONS, ...opts, exactBelow: Number.POSITIVE_INFINITY };
    const p = new LanguagePartition([...languages][0], [this.meta.dim], options);
    p.spaces[0].ensureRows(n);
    for (let i = 0; i < n; i++) p.add(this.itemMeta(i), [this.row(i)]);
    return p;
  }
}
