// Contract 5: the content index — one partition per language, keyed by content id, with version-aware
// upserts and deletes. Vectors for every configured bundle (ensemble member) live side by side.
import { InputError } from '../errors.js';
import type { UpsertResult, IndexLanguageInfo } from '../types.js';
import { LanguagePartition } from './partition.js';
import { DEFAULT_INDEX_OPTIONS, type IndexOptions, type ItemMeta, type SearchFilter, type SearchHit, type SpaceIdentity } from './types.js';

export type WriteAction = 'insert' | 'update' | 'skip';

export interface IndexEntry {
  meta: ItemMeta;
  /** One L2-normalised vector per space, in the order of the index's identities. */
  vectors: Float32Array[];
}

const NORM_TOLERANCE = 1e-3;

/**
 * The version rule: a write replaces the stored item unless both carry a version and the stored one
 * is the same or newer (so re-sending an old version is a no-op). Unversioned writes always replace
 * (last writer wins), which is what a caller that does not track versions expects.
 */
export function writeAction(stored: ItemMeta | undefined, incoming: { version?: number }): WriteAction {
  if (!stored) return 'insert';
  if (incoming.version !== undefined && stored.version !== undefined && stored.version >= incoming.version) return 'skip';
  return 'update';
}

export class ContentIndex {
  readonly options: IndexOptions;
  readonly partitions = new Map<string, LanguagePartition>();
  private readonly languageOf = new Map<string, string>();
  /** Bumped on every write; the snapshot writer compares it to know whether there is anything to flush. */
  generation = 0;
  snapshotVersion = 0;

  constructor(
    readonly identities: readonly SpaceIdentity[],
    options: Partial<IndexOptions> = {},
  ) {
    if (identities.length === 0) throw new RangeError('ContentIndex: need at least one space identity');
    this.options = { ...DEFAULT_INDEX_OPTIONS, ...options };
  }

  get size(): number {
    return this.languageOf.size;
  }

  get dims(): number[] {
    return this.identities.map((i) => i.dim);
  }

  has(language: string): boolean {
    return (this.partitions.get(language)?.live ?? 0) > 0;
  }

  get(id: string): ItemMeta | undefined {
    const lang = this.languageOf.get(id);
    if (lang === undefined) return undefined;
    const p = this.partitions.get(lang)!;
    return p.rows[p.idToRow.get(id)!] ?? undefined;
  }

  /** The stored vectors of an item (one per space), or undefined. */
  vectors(id: string): Float32Array[] | undefined {
    const lang = this.languageOf.get(id);
    if (lang === undefined) return undefined;
    const p = this.partitions.get(lang)!;
    const row = p.idToRow.get(id)!;
    return p.spaces.map((sp) => sp.row(row).slice());
  }

  languages(): IndexLanguageInfo[] {
    return [...this.partitions.values()]
      .filter((p) => p.live > 0)
      .map((p) => ({ language: p.language, size: p.live, kind: p.kind }))
      .sort((a, b) => a.language.localeCompare(b.language));
  }

  /** What an upsert of these items would do, without doing it (lets callers skip embedding skipped items). */
  plan(items: readonly { id: string; version?: number }[]): WriteAction[] {
    return items.map((it) => writeAction(this.get(it.id), it));
  }

  /**
   * Validates every entry (vector count, dimension, finiteness, unit length, duplicate ids), then
   * applies them all: a bad entry throws InputError before anything changes.
   */
  upsert(entries: readonly IndexEntry[]): UpsertResult {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      const where = `items[${i}]`;
      if (typeof e.meta.id !== 'string' || e.meta.id === '') throw new InputError(`${where}.id`, 'must be a non-empty string');
      if (seen.has(e.meta.id)) throw new InputError(`${where}.id`, `duplicate id "${e.meta.id}" in one request`);
      seen.add(e.meta.id);
      if (typeof e.meta.language !== 'string' || e.meta.language === '') throw new InputError(`${where}.language`, 'must be a non-empty string');
      if (e.vectors.length !== this.identities.length) {
        throw new InputError(`${where}.vectors`, `expected ${this.identities.length} vector(s) (one per bundle), got ${e.vectors.length}`);
      }
      e.vectors.forEach((v, s) => {
        if (v.length !== this.identities[s].dim) throw new InputError(`${where}.vectors[${s}]`, `dimension ${v.length}, the index expects ${this.identities[s].dim}`);
        let n = 0;
        for (let j = 0; j < v.length; j++) n += v[j] * v[j];
        if (!Number.isFinite(n) || Math.abs(Math.sqrt(n) - 1) > NORM_TOLERANCE) {
          throw new InputError(`${where}.vectors[${s}]`, `must be L2-normalised (norm ${Math.sqrt(n).toFixed(4)})`);
        }
      });
    });
    const result: UpsertResult = { inserted: 0, updated: 0, skipped: 0 };
    const touched = new Set<LanguagePartition>();
    for (const e of entries) {
      const action = writeAction(this.get(e.meta.id), e.meta);
      if (action === 'skip') {
        result.skipped++;
        continue;
      }
      if (action === 'update') {
        result.updated++;
        const old = this.partitions.get(this.languageOf.get(e.meta.id)!)!;
        old.remove(e.meta.id); // also when the language changed: the item moves partition
        touched.add(old);
      } else result.inserted++;
      const p = this.partition(e.meta.language);
      p.add({ ...e.meta }, e.vectors);
      this.languageOf.set(e.meta.id, e.meta.language);
      touched.add(p);
    }
    for (const p of touched) p.maintain();
    if (result.inserted + result.updated > 0) this.generation++;
    return result;
  }

  delete(ids: readonly string[]): number {
    let deleted = 0;
    const touched = new Set<LanguagePartition>();
    for (const id of ids) {
      const lang = this.languageOf.get(id);
      if (lang === undefined) continue;
      const p = this.partitions.get(lang)!;
      p.remove(id);
      this.languageOf.delete(id);
      touched.add(p);
      deleted++;
    }
    for (const p of touched) p.maintain();
    if (deleted > 0) this.generation++;
    return deleted;
  }

  /** Nearest items of one language by (mean) cosine, best first; [] for a language without items. */
  search(language: string, queries: readonly Float32Array[], k: number, filter?: SearchFilter): SearchHit[] {
    if (queries.length !== this.identities.length) throw new RangeError(`search: ${queries.length} query vectors for ${this.identities.length} spaces`);
    return this.partitions.get(language)?.search(queries, k, filter) ?? [];
  }

  /** Exact search, ignoring any graph (used to measure HNSW recall). */
  searchExact(language: string, queries: readonly Float32Array[], k: number, filter?: SearchFilter): SearchHit[] {
    return this.partitions.get(language)?.searchExact(queries, k, filter) ?? [];
  }

  partition(language: string): LanguagePartition {
    let p = this.partitions.get(language);
    if (!p) {
      p = new LanguagePartition(language, this.dims, this.options);
      this.partitions.set(language, p);
    }
    return p;
  }

  /** Registers a partition restored from a snapshot. */
  restorePartition(p: LanguagePartition): void {
    this.partitions.set(p.language, p);
    for (const id of p.idToRow.keys()) this.languageOf.set(id, p.language);
  }
}
