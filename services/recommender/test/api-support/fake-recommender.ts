// An in-memory RecommenderService for testing the API layer alone (validation, mapping, error
// handling). Its "encoder" is a hashed bag of words, so similar texts really are closer; it applies
// the same state-dependent checks the core does (unknown language, unknown topic id) and writes
// all-or-nothing.
import { InputError } from '../../src/errors.js';
import type {
  ContentItem,
  Recommendation,
  RecommendOptions,
  RecommenderInfo,
  RecommenderService,
  TopicInput,
  TopicRecommendations,
  UpsertResult,
} from '../../src/types.js';

const DIM = 16;

export function bagOfWords(text: string): Float32Array {
  const v = new Float32Array(DIM);
  for (const word of text.toLowerCase().split(/\W+/).filter(Boolean)) {
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    v[Math.abs(h) % DIM] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const topicText = (t: TopicInput) => [t.title, ...(t.ancestors ?? []).map((a) => a.title), t.description ?? ''].join(' ');
const contentText = (c: ContentItem) => [c.title, c.description ?? '', c.text ?? ''].join(' ');

export class FakeRecommender implements RecommenderService {
  readonly items = new Map<string, ContentItem & { vector: Float32Array }>();
  readonly topics = new Map<string, TopicInput>();
  readonly calls: { method: string; args: unknown[] }[] = [];
  isReady = true;
  closed = false;
  /** Makes the next call throw a non-input error (to test 500 / INTERNAL). */
  failNext: Error | null = null;

  constructor(private readonly bundleLanguages: string[] = ['en', 'es', 'fr']) {}

  private enter(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
  }

  /** As the core: a candidate language needs content in the index or a declaration in the bundle. */
  private checkLanguage(language: string, field: string): void {
    const indexed = [...this.items.values()].some((c) => c.language === language);
    if (!indexed && !this.bundleLanguages.includes(language)) throw new InputError(field, `no content in language "${language}"`);
  }

  private rank(topic: TopicInput, options: RecommendOptions): Recommendation[] {
    const q = bagOfWords(topicText(topic));
    const languages = options.languages ?? [topic.language];
    const scored = [...this.items.values()]
      .filter((c) => languages.includes(c.language) && (!options.channels || options.channels.includes(c.channelId ?? '')))
      .map((c) => ({ c, s: c.vector.reduce((acc, x, i) => acc + x * q[i], 0) }))
      .sort((a, b) => b.s - a.s || a.c.id.localeCompare(b.c.id))
      .slice(0, options.maxCandidates ?? 128);
    let kept = scored;
    if (!options.overrideThreshold && scored.length) {
      const cut = (1 - (options.margin ?? 0.16)) * scored[0].s;
      kept = scored.filter((x, i) => i === 0 || x.s >= cut);
    }
    if (options.maxItems) kept = kept.slice(0, options.maxItems);
    return kept.map(({ c, s }, i) => ({
      id: c.id, rank: i + 1, similarity: s, language: c.language, channelId: c.channelId, contentId: c.contentId,
      title: c.title, description: c.description, kind: c.kind,
    }));
  }

  async recommend(topics: TopicInput[], options: RecommendOptions = {}): Promise<TopicRecommendations[]> {
    this.enter('recommend', [topics, options]);
    topics.forEach((t, i) => this.checkLanguage(t.language, `topics[${i}].language`));
    return topics.map((t) => ({ topicId: t.id, recommendations: this.rank(t, options) }));
  }

  async recommendKnown(topicIds: string[], options: RecommendOptions = {}): Promise<TopicRecommendations[]> {
    this.enter('recommendKnown', [topicIds, options]);
    const topics = topicIds.map((id, i) => {
      const t = this.topics.get(id);
      if (!t) throw new InputError(`topicIds[${i}]`, `unknown topic '${id}' (register it with POST /v1/topics)`, 404);
      return t;
    });
    return topics.map((t) => ({ topicId: t.id, recommendations: this.rank(t, options) }));
  }

  async upsertTopics(topics: TopicInput[]): Promise<number> {
    this.enter('upsertTopics', [topics]);
    for (const t of topics) this.topics.set(t.id, t);
    return topics.length;
  }

  async upsertContent(items: ContentItem[]): Promise<UpsertResult> {
    this.enter('upsertContent', [items]);
    // As the core: any well-formed language may start a new partition; version must be >= 0.
    items.forEach((c, i) => {
      if (c.version !== undefined && c.version < 0) throw new InputError(`items[${i}].version`, 'must be an integer >= 0');
    });
    const result: UpsertResult = { inserted: 0, updated: 0, skipped: 0 };
    for (const c of items) {
      const old = this.items.get(c.id);
      if (old && (c.version ?? 0) <= (old.version ?? 0) && old.version !== undefined) {
        result.skipped++;
        continue;
      }
      if (old) result.updated++;
      else result.inserted++;
      this.items.set(c.id, { ...c, vector: bagOfWords(contentText(c)) });
    }
    return result;
  }

  async deleteContent(ids: string[]): Promise<{ deleted: number }> {
    this.enter('deleteContent', [ids]);
    let deleted = 0;
    for (const id of ids) if (this.items.delete(id)) deleted++;
    return { deleted };
  }

  async embedTopics(topics: TopicInput[]): Promise<Float32Array[]> {
    this.enter('embedTopics', [topics]);
    return topics.map((t) => bagOfWords(topicText(t)));
  }

  async embedContent(items: ContentItem[]): Promise<Float32Array[]> {
    this.enter('embedContent', [items]);
    return items.map((c) => bagOfWords(contentText(c)));
  }

  info(): RecommenderInfo {
    const sizes = new Map<string, number>();
    for (const c of this.items.values()) sizes.set(c.language, (sizes.get(c.language) ?? 0) + 1);
    return {
      bundle: { name: 'fake', version: '0', backbone: 'bag-of-words', dim: DIM, variant: 'full', textFormat: 'lecr-breadcrumb-v1', sha256: '0'.repeat(64) },
      selection: { margin: 0.16, maxCandidates: 128, minItems: 1 },
      index: {
        total: this.items.size,
        languages: [...sizes].sort().map(([language, size]) => ({ language, size, kind: 'exact' as const })),
        snapshotVersion: 0,
      },
      knownTopics: this.topics.size,
    };
  }

  ready(): boolean {
    return this.isReady && !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
