// The recommendation core: bundles → encoders → per-language content index → Contract 4 selection.
// The REST/gRPC front doors and the batch CLI sit on top of createRecommender().
//
// Ensembles: every bundle keeps its own vector space. The index stores, per item, one vector per
// bundle (each in its own space, its own HNSW graph); a topic is embedded by every bundle; each graph
// proposes candidates, and every proposed item is rescored exactly as the MEAN of its per-bundle
// cosines before the margin cut (Contract 4, the seed's eval_ensemble). Exact-search languages compute
// that mean for every item. embedTopics/embedContent return, for an ensemble, the concatenation of the
// per-bundle vectors scaled by 1/sqrt(M): unit length, and a dot product of two such vectors is the
// mean cosine (as ensemble_embeddings in training/curriculum_training/evaluation/selection.py).
import { DEFAULTS } from './defaults.js';
import { InputError } from './errors.js';
import { loadBundle, bundleLanguages, type Bundle } from './bundle/index.js';
import { Encoder, type Logger, type TextKind } from './encoder/index.js';
import { ContentIndex, readSnapshot, writeSnapshot, type IndexOptions, type SearchHit } from './index/index.js';
import { checkSelectionParams, selectRanked, type SelectionParams } from './selection/index.js';
import { ancestorTitles, contentString, topicString } from './text.js';
import { readTopics } from './cli/lecr.js';
import type {
  ContentItem,
  Recommendation,
  RecommenderInfo,
  RecommenderService,
  RecommendOptions,
  StageObserver,
  TopicInput,
  TopicRecommendations,
  UpsertResult,
} from './types.js';

export interface RecommenderOptions {
  bundlePaths: string[];
  indexPath?: string;
  variant?: string;
  executionProvider?: 'cpu' | 'cuda';
  intraOpThreads?: number;
  interOpThreads?: number;
  /** ONNX Runtime thread-pool busy-waiting (default off: see ort-worker.mjs). */
  spinning?: boolean;
  maxBatchTokens?: number;
  maxBatchWaitMs?: number;
  margin?: number;
  maxCandidates?: number;
  minItems?: number;
  exactBelow?: number;
  hnswM?: number;
  hnswEfConstruction?: number;
  hnswEfSearch?: number;
  topicsCsv?: string;
  observer?: StageObserver;
  logger?: Logger;
  /** Longest accepted title/description/text in characters (default config/defaults.json service.max_text_chars). */
  maxTextChars?: number;
}

/** The service plus what the CLI and tests reach for. */
export interface Recommender extends RecommenderService {
  readonly bundles: readonly Bundle[];
  readonly encoders: readonly Encoder[];
  readonly index: ContentIndex;
  readonly selection: SelectionParams;
  /** Writes the index snapshot now if anything changed since the last one; returns its version or null. */
  flush(): Promise<number | null>;
}

const LANGUAGE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,34}$/;

// ---------------------------------------------------------------- validation (before any write)

function requireString(v: unknown, field: string, opts: { optional?: boolean; nonEmpty?: boolean; max?: number } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    throw new InputError(field, 'is required');
  }
  if (typeof v !== 'string') throw new InputError(field, `must be a string (got ${typeof v})`);
  if (opts.nonEmpty && v.trim() === '') throw new InputError(field, 'must not be empty');
  if (opts.max !== undefined && v.length > opts.max) throw new InputError(field, `is ${v.length} characters long; the limit is ${opts.max}`, 413);
  return v;
}

function requireLanguage(v: unknown, field: string): string {
  const s = requireString(v, field, { nonEmpty: true })!;
  if (!LANGUAGE.test(s)) throw new InputError(field, `"${s}" is not a language code (letters, digits, - or _)`);
  return s;
}

function requireArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InputError(field, 'must be a list');
  return v;
}

function noDuplicates(ids: readonly string[], field: string): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw new InputError(`${field}[${i}]`, `duplicate id "${id}" in one request`);
    seen.add(id);
  });
}

/** Resolves the selection parameters: request → service options → first bundle's manifest → defaults. */
function selectionFrom(options: RecommenderOptions, bundle: Bundle): SelectionParams {
  const m = bundle.manifest.selection;
  const p: SelectionParams = {
    margin: options.margin ?? m.margin ?? DEFAULTS.selection.margin,
    maxCandidates: options.maxCandidates ?? m.max_candidates ?? DEFAULTS.selection.max_candidates,
    minItems: options.minItems ?? m.min_items ?? DEFAULTS.selection.min_items,
  };
  checkSelectionParams(p);
  return p;
}

// ---------------------------------------------------------------- ranking shared with the CLI

export interface RankRequest {
  languages: readonly string[];
  channels?: ReadonlySet<string>;
  params: SelectionParams;
  overrideThreshold?: boolean;
  maxItems?: number;
}

/**
 * Nearest items over the candidate languages (each searched in its own partition), merged best first
 * (ties: earlier language in the list, then insertion order), cut to maxCandidates, then Contract 4.
 */
export function rankAndSelect(index: ContentIndex, queries: readonly Float32Array[], req: RankRequest, observer?: StageObserver): SearchHit[] {
  const depth = req.params.maxCandidates ?? Math.max(index.size, 1); // null = uncapped: every item
  const filter = req.channels ? { channels: req.channels } : undefined;
  const t0 = performance.now();
  const merged: { hit: SearchHit; lang: number }[] = [];
  req.languages.forEach((lang, li) => {
    for (const hit of index.search(lang, queries, depth, filter)) merged.push({ hit, lang: li });
  });
  if (req.languages.length > 1) merged.sort((a, b) => b.hit.score - a.hit.score || a.lang - b.lang || a.hit.row - b.hit.row);
  const hits = merged.slice(0, depth).map((m) => m.hit);
  const t1 = performance.now();
  observer?.stage('search', (t1 - t0) / 1000);
  const ranked = hits.map((h, i) => ({ index: i, score: h.score }));
  const kept = selectRanked(ranked, req.params, { overrideThreshold: req.overrideThreshold, maxItems: req.maxItems });
  observer?.stage('select', (performance.now() - t1) / 1000);
  return kept.map((k) => hits[k.index]);
}

function toRecommendation(h: SearchHit, rank: number): Recommendation {
  const it = h.item;
  const r: Recommendation = { id: it.id, rank, similarity: h.score, language: it.language };
  if (it.channelId !== undefined) r.channelId = it.channelId;
  if (it.contentId !== undefined) r.contentId = it.contentId;
  if (it.title !== undefined) r.title = it.title;
  if (it.description !== undefined) r.description = it.description;
  if (it.kind !== undefined) r.kind = it.kind;
  return r;
}

/** Concatenation of per-bundle unit vectors scaled by 1/sqrt(M): dot products equal the mean cosine. */
export function combineEnsemble(vectors: readonly Float32Array[]): Float32Array {
  if (vectors.length === 1) return vectors[0];
  const total = vectors.reduce((s, v) => s + v.length, 0);
  const out = new Float32Array(total);
  const scale = 1 / Math.sqrt(vectors.length);
  let o = 0;
  for (const v of vectors) {
    for (let i = 0; i < v.length; i++) out[o + i] = v[i] * scale;
    o += v.length;
  }
  return out;
}

// ---------------------------------------------------------------- the service

interface KnownTopic {
  id: string;
  title: string;
  description: string;
  language: string;
  channelId?: string;
  parent?: string;
  /** Breadcrumb titles given with the topic, used when its parent is not itself known. */
  ancestorTitles: string[];
}

class RecommenderImpl implements Recommender {
  private closed = false;
  private flushedGeneration: number;
  private writeLock: Promise<unknown> = Promise.resolve();
  private readonly known = new Map<string, KnownTopic>();
  private readonly declaredLanguages: Set<string>;
  private readonly maxTextChars: number;

  constructor(
    readonly bundles: readonly Bundle[],
    readonly encoders: readonly Encoder[],
    readonly index: ContentIndex,
    readonly selection: SelectionParams,
    private readonly options: RecommenderOptions,
  ) {
    this.flushedGeneration = index.generation;
    this.declaredLanguages = new Set(bundles.flatMap((b) => bundleLanguages(b.manifest)));
    this.maxTextChars = options.maxTextChars ?? DEFAULTS.service.max_text_chars;
  }

  // -- validation

  private knownLanguage(lang: string): boolean {
    return this.index.has(lang) || this.declaredLanguages.has(lang);
  }

  private checkCandidateLanguage(lang: string, field: string): void {
    if (!this.knownLanguage(lang)) {
      const have = this.index.languages().map((l) => l.language);
      throw new InputError(field, `no content in language "${lang}" (the index has: ${have.length ? have.join(', ') : 'nothing yet'})`);
    }
  }

  private validateTopics(topics: unknown, field = 'topics'): TopicInput[] {
    const list = requireArray(topics, field);
    const out = list.map((t, i) => {
      const f = `${field}[${i}]`;
      if (typeof t !== 'object' || t === null) throw new InputError(f, 'must be an object');
      const o = t as Record<string, unknown>;
      const max = this.maxTextChars;
      const topic: TopicInput = {
        id: requireString(o.id, `${f}.id`, { nonEmpty: true })!,
        title: requireString(o.title, `${f}.title`, { max })!,
        description: requireString(o.description, `${f}.description`, { optional: true, max }),
        language: requireLanguage(o.language, `${f}.language`),
        channelId: requireString(o.channelId, `${f}.channelId`, { optional: true }),
      };
      if (o.ancestors !== undefined && o.ancestors !== null) {
        topic.ancestors = requireArray(o.ancestors, `${f}.ancestors`).map((a, j) => {
          const af = `${f}.ancestors[${j}]`;
          if (typeof a !== 'object' || a === null) throw new InputError(af, 'must be an object');
          const ao = a as Record<string, unknown>;
          return {
            id: requireString(ao.id, `${af}.id`, { optional: true }),
            title: requireString(ao.title, `${af}.title`, { max })!,
            description: requireString(ao.description, `${af}.description`, { optional: true, max }),
          };
        });
      }
      return topic;
    });
    noDuplicates(out.map((t) => t.id), field);
    return out;
  }

  private validateOptions(options: RecommendOptions | undefined): { params: SelectionParams; languages?: string[]; channels?: Set<string>; overrideThreshold: boolean; maxItems?: number } {
    const o = options ?? {};
    const params: SelectionParams = { ...this.selection };
    if (o.margin !== undefined) {
      if (typeof o.margin !== 'number' || !(o.margin >= 0 && o.margin < 1)) throw new InputError('options.margin', 'must be a number in [0, 1)');
      params.margin = o.margin;
    }
    if (o.maxCandidates !== undefined) {
      if (!Number.isInteger(o.maxCandidates) || o.maxCandidates < 1) throw new InputError('options.maxCandidates', 'must be an integer >= 1');
      params.maxCandidates = o.maxCandidates;
      params.minItems = Math.min(params.minItems, o.maxCandidates);
    }
    if (o.maxItems !== undefined && (!Number.isInteger(o.maxItems) || o.maxItems < 0)) throw new InputError('options.maxItems', 'must be an integer >= 0');
    // An empty list means "not given" (default candidates / no channel restriction), not "nothing".
    let languages: string[] | undefined;
    if (o.languages !== undefined && !(Array.isArray(o.languages) && o.languages.length === 0)) {
      languages = requireArray(o.languages, 'options.languages').map((l, i) => requireLanguage(l, `options.languages[${i}]`));
      languages.forEach((l, i) => this.checkCandidateLanguage(l, `options.languages[${i}]`));
      languages = [...new Set(languages)];
    }
    let channels: Set<string> | undefined;
    if (o.channels !== undefined && !(Array.isArray(o.channels) && o.channels.length === 0)) {
      channels = new Set(requireArray(o.channels, 'options.channels').map((c, i) => requireString(c, `options.channels[${i}]`, { nonEmpty: true })!));
    }
    return { params, languages, channels, overrideThreshold: o.overrideThreshold === true, maxItems: o.maxItems };
  }

  private validateContent(items: unknown): ContentItem[] {
    const list = requireArray(items, 'items');
    const max = this.maxTextChars;
    const out = list.map((it, i) => {
      const f = `items[${i}]`;
      if (typeof it !== 'object' || it === null) throw new InputError(f, 'must be an object');
      const o = it as Record<string, unknown>;
      const item: ContentItem = {
        id: requireString(o.id, `${f}.id`, { nonEmpty: true })!,
        title: requireString(o.title, `${f}.title`, { max })!,
        description: requireString(o.description, `${f}.description`, { optional: true, max }),
        text: requireString(o.text, `${f}.text`, { optional: true, max }),
        language: requireLanguage(o.language, `${f}.language`),
        channelId: requireString(o.channelId, `${f}.channelId`, { optional: true }),
        contentId: requireString(o.contentId, `${f}.contentId`, { optional: true }),
        kind: requireString(o.kind, `${f}.kind`, { optional: true }),
      };
      if (o.version !== undefined && o.version !== null) {
        if (!Number.isSafeInteger(o.version) || (o.version as number) < 0) throw new InputError(`${f}.version`, 'must be an integer >= 0');
        item.version = o.version as number;
      }
      return item;
    });
    noDuplicates(out.map((c) => c.id), 'items');
    return out;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('recommender is closed');
  }

  // -- embedding

  /** Per text, one vector per bundle (each bundle's own prefix and tokenizer). */
  private async embedAll(texts: string[], kind: TextKind): Promise<Float32Array[][]> {
    const perBundle = await Promise.all(this.encoders.map((e) => e.embed(texts, kind)));
    return texts.map((_, i) => perBundle.map((vs) => vs[i]));
  }

  private topicText(t: TopicInput): string {
    return topicString(t.title, t.description, (t.ancestors ?? []).map((a) => a.title));
  }

  // -- RecommenderService

  async recommend(topics: TopicInput[], options?: RecommendOptions): Promise<TopicRecommendations[]> {
    this.assertOpen();
    const valid = this.validateTopics(topics);
    const opts = this.validateOptions(options);
    if (!opts.languages) valid.forEach((t, i) => this.checkCandidateLanguage(t.language, `topics[${i}].language`));
    return this.recommendValid(valid, opts);
  }

  private async recommendValid(topics: TopicInput[], opts: ReturnType<RecommenderImpl['validateOptions']>): Promise<TopicRecommendations[]> {
    if (topics.length === 0) return [];
    const vectors = await this.embedAll(topics.map((t) => this.topicText(t)), 'topic');
    return topics.map((t, i) => {
      const hits = rankAndSelect(
        this.index,
        vectors[i],
        { languages: opts.languages ?? [t.language], channels: opts.channels, params: opts.params, overrideThreshold: opts.overrideThreshold, maxItems: opts.maxItems },
        this.options.observer,
      );
      return { topicId: t.id, recommendations: hits.map((h, r) => toRecommendation(h, r + 1)) };
    });
  }

  async recommendKnown(topicIds: string[], options?: RecommendOptions): Promise<TopicRecommendations[]> {
    this.assertOpen();
    const ids = requireArray(topicIds, 'topicIds').map((id, i) => requireString(id, `topicIds[${i}]`, { nonEmpty: true })!);
    noDuplicates(ids, 'topicIds');
    const topics = ids.map((id, i) => {
      const t = this.known.get(id);
      if (!t) throw new InputError(`topicIds[${i}]`, `unknown topic "${id}" (register it with upsertTopics or TOPICS_PATH)`, 404);
      return this.knownAsInput(t);
    });
    const opts = this.validateOptions(options);
    if (!opts.languages) topics.forEach((t, i) => this.checkCandidateLanguage(t.language, `topicIds[${i}]`));
    return this.recommendValid(topics, opts);
  }

  /** A known topic with its breadcrumb: the known tree when its parent is known, else the titles it came with. */
  private knownAsInput(t: KnownTopic): TopicInput {
    let titles = t.ancestorTitles;
    if (t.parent && this.known.has(t.parent)) {
      const parentOf = { get: (id: string) => this.known.get(id)?.parent } as ReadonlyMap<string, string | undefined>;
      const titleOf = { get: (id: string) => this.known.get(id)?.title, has: (id: string) => this.known.has(id) } as ReadonlyMap<string, string>;
      titles = ancestorTitles(t.id, parentOf, titleOf);
    }
    return { id: t.id, title: t.title, description: t.description, language: t.language, channelId: t.channelId, ancestors: titles.map((title) => ({ title })) };
  }

  async upsertTopics(topics: TopicInput[]): Promise<number> {
    this.assertOpen();
    const valid = this.validateTopics(topics);
    for (const t of valid) this.registerTopic(t);
    return valid.length;
  }

  registerTopic(t: TopicInput, parent?: string): void {
    this.known.set(t.id, {
      id: t.id,
      title: t.title,
      description: t.description ?? '',
      language: t.language,
      channelId: t.channelId,
      parent: parent ?? t.ancestors?.[0]?.id,
      ancestorTitles: (t.ancestors ?? []).map((a) => a.title),
    });
  }

  /** Serialises writes so a plan (which items need embedding) stays valid until it is applied. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeLock.then(fn, fn);
    this.writeLock = run.catch(() => undefined);
    return run;
  }

  async upsertContent(items: ContentItem[]): Promise<UpsertResult> {
    this.assertOpen();
    const valid = this.validateContent(items);
    return this.exclusive(async () => {
      const plan = this.index.plan(valid);
      const toWrite = valid.filter((_, i) => plan[i] !== 'skip');
      const vectors = await this.embedAll(toWrite.map((c) => contentString(c.title, c.description, c.text)), 'content');
      const result = this.index.upsert(
        toWrite.map((c, i) => ({
          meta: {
            id: c.id,
            language: c.language,
            channelId: c.channelId,
            contentId: c.contentId,
            kind: c.kind,
            title: c.title,
            description: c.description,
            version: c.version,
          },
          vectors: vectors[i],
        })),
      );
      return { ...result, skipped: result.skipped + (valid.length - toWrite.length) };
    });
  }

  async deleteContent(ids: string[]): Promise<{ deleted: number }> {
    this.assertOpen();
    const valid = requireArray(ids, 'ids').map((id, i) => requireString(id, `ids[${i}]`, { nonEmpty: true })!);
    return this.exclusive(async () => ({ deleted: this.index.delete(valid) }));
  }

  async embedTopics(topics: TopicInput[]): Promise<Float32Array[]> {
    this.assertOpen();
    const valid = this.validateTopics(topics);
    return (await this.embedAll(valid.map((t) => this.topicText(t)), 'topic')).map(combineEnsemble);
  }

  async embedContent(items: ContentItem[]): Promise<Float32Array[]> {
    this.assertOpen();
    const valid = this.validateContent(items);
    return (await this.embedAll(valid.map((c) => contentString(c.title, c.description, c.text)), 'content')).map(combineEnsemble);
  }

  info(): RecommenderInfo {
    const first = this.bundles[0];
    const many = this.bundles.length > 1;
    return {
      bundle: {
        name: this.bundles.map((b) => b.manifest.name).join('+'),
        version: this.bundles.map((b) => b.manifest.version).join('+'),
        backbone: this.bundles.map((b) => b.manifest.backbone).join('+'),
        dim: many ? this.bundles.reduce((s, b) => s + b.manifest.dim, 0) : first.manifest.dim,
        variant: this.bundles.map((b) => b.variant).join('+'),
        textFormat: first.manifest.text_format,
        sha256: this.bundles.map((b) => b.identity.sha256).join('+'),
      },
      selection: { margin: this.selection.margin, maxCandidates: this.selection.maxCandidates ?? 0, minItems: this.selection.minItems },
      index: { total: this.index.size, languages: this.index.languages(), snapshotVersion: this.index.snapshotVersion },
      knownTopics: this.known.size,
    };
  }

  ready(): boolean {
    return !this.closed;
  }

  async flush(): Promise<number | null> {
    const path = this.options.indexPath;
    if (!path || this.index.generation === this.flushedGeneration) return null;
    return this.exclusive(async () => {
      const generation = this.index.generation;
      const version = writeSnapshot(this.index, path);
      this.flushedGeneration = generation;
      this.options.logger?.info({ indexPath: path, snapshotVersion: version, items: this.index.size }, 'index snapshot written');
      return version;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeLock;
    await this.flush();
    this.closed = true;
    await Promise.all(this.encoders.map((e) => e.close()));
  }
}

export async function createRecommender(options: RecommenderOptions): Promise<Recommender> {
  if (!options.bundlePaths?.length) throw new InputError('bundlePaths', 'at least one bundle is required');
  const bundles = await Promise.all(options.bundlePaths.map((p) => loadBundle(p, { variant: options.variant })));
  const textFormats = new Set(bundles.map((b) => b.manifest.text_format));
  if (textFormats.size > 1) throw new InputError('bundlePaths', `the bundles use different text formats (${[...textFormats].join(', ')})`);
  const selection = selectionFrom(options, bundles[0]);
  const indexOptions: Partial<IndexOptions> = {
    ...(options.exactBelow !== undefined ? { exactBelow: options.exactBelow } : {}),
    ...(options.hnswM !== undefined ? { hnswM: options.hnswM } : {}),
    ...(options.hnswEfConstruction !== undefined ? { hnswEfConstruction: options.hnswEfConstruction } : {}),
    ...(options.hnswEfSearch !== undefined ? { hnswEfSearch: options.hnswEfSearch } : {}),
  };
  const identities = bundles.map((b) => b.identity);
  const index = options.indexPath ? readSnapshot(options.indexPath, identities, indexOptions) : new ContentIndex(identities, indexOptions);
  const encoders: Encoder[] = [];
  try {
    for (const b of bundles) {
      encoders.push(
        await Encoder.create(b, {
          executionProvider: options.executionProvider,
          intraOpThreads: options.intraOpThreads,
          interOpThreads: options.interOpThreads,
          spinning: options.spinning,
          maxBatchTokens: options.maxBatchTokens,
          maxBatchWaitMs: options.maxBatchWaitMs,
          observer: options.observer,
          logger: options.logger,
        }),
      );
    }
  } catch (err) {
    await Promise.all(encoders.map((e) => e.close()));
    throw err;
  }
  const rec = new RecommenderImpl(bundles, encoders, index, selection, options);
  if (options.topicsCsv) {
    const topics = readTopics(options.topicsCsv);
    for (const t of topics) {
      rec.registerTopic({ id: t.id, title: t.title, description: t.description, language: t.language, channelId: t.channel }, t.parent || undefined);
    }
    options.logger?.info({ topicsCsv: options.topicsCsv, topics: topics.length }, 'known topics loaded');
  }
  options.logger?.info(
    { bundles: bundles.map((b) => `${b.manifest.name}@${b.manifest.version}/${b.variant}`), provider: encoders.map((e) => e.executionProvider), items: index.size, snapshotVersion: index.snapshotVersion },
    'recommender ready',
  );
  return rec;
}
