import { DEFAULTS } from '../defaults.js';

/** What a content index stores per item besides its vectors (Contract 5). */
export interface ItemMeta {
  id: string;
  language: string;
  channelId?: string;
  contentId?: string;
  kind?: string;
  title?: string;
  description?: string;
  version?: number;
}

/**
 * The encoder a vector space was built with. A snapshot carries one per space (one per ensemble
 * member) and is refused when they differ from the configured bundles.
 */
export interface SpaceIdentity {
  name: string;
  version: string;
  variant: string;
  /** sha256 of the variant's ONNX file: the encoder's weights. */
  sha256: string;
  dim: number;
  textFormat: string;
}

export interface IndexOptions {
  /** Languages with fewer live items use exact search; at or above it, HNSW. */
  exactBelow: number;
  hnswM: number;
  hnswEfConstruction: number;
  hnswEfSearch: number;
  /** Rebuild a language's storage (and graph) when this fraction of its rows are deleted. */
  compactDeadFraction: number;
  /** ...and at least this many rows are deleted (avoids rebuilding tiny partitions on every delete). */
  compactMinDead: number;
  /** HNSW with a channel filter fetches this many times k before filtering. */
  filterOverfetch: number;
  /** Seed for HNSW level generation, so builds are reproducible. */
  randomSeed: number;
}

export const DEFAULT_INDEX_OPTIONS: IndexOptions = {
  exactBelow: DEFAULTS.index.exact_below,
  hnswM: DEFAULTS.index.hnsw_m,
  hnswEfConstruction: DEFAULTS.index.hnsw_ef_construction,
  hnswEfSearch: DEFAULTS.index.hnsw_ef_search,
  compactDeadFraction: 0.25,
  compactMinDead: 64,
  filterOverfetch: 4,
  randomSeed: 100,
};

export interface SearchHit {
  item: ItemMeta;
  /** Cosine similarity (the mean over spaces for an ensemble), rounded to float32. */
  score: number;
  /** Insertion order inside the language; breaks score ties deterministically. */
  row: number;
}

export interface SearchFilter {
  channels?: ReadonlySet<string>;
}

export function sameIdentity(a: SpaceIdentity, b: SpaceIdentity): boolean {
  return a.sha256 === b.sha256 && a.dim === b.dim && a.textFormat === b.textFormat && a.name === b.name && a.version === b.version;
}

export function describeIdentity(s: SpaceIdentity): string {
  return `${s.name}@${s.version} variant ${s.variant} (onnx sha256 ${s.sha256.slice(0, 12)}…, dim ${s.dim}, text_format ${s.textFormat})`;
}
