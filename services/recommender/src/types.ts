// The contract between the recommendation core (encoder, index, selection: src/recommender.ts) and
// the front doors (REST, gRPC, CLI). The front doors map their wire formats onto these types.

/** A topic to recommend for. Ancestors run from the parent up to the root (Contract 2 breadcrumb). */
export interface TopicInput {
  id: string;
  title: string;
  description?: string;
  language: string;
  channelId?: string;
  ancestors?: { id?: string; title: string; description?: string }[];
}

/** A learning resource in the content index. A higher `version` replaces a lower one. */
export interface ContentItem {
  id: string;
  title: string;
  description?: string;
  text?: string;
  language: string;
  channelId?: string;
  contentId?: string;
  kind?: string;
  version?: number;
}

export interface RecommendOptions {
  /** Dynamic relative margin (Contract 4); defaults to the bundle manifest's, then config/defaults.json. */
  margin?: number;
  /** Cap on returned items after selection. */
  maxItems?: number;
  /** How many nearest candidates to consider before the margin cut (default 128). */
  maxCandidates?: number;
  /** Candidate languages; default: the topic's own language. */
  languages?: string[];
  /** Restrict candidates to these channels. */
  channels?: string[];
  /** Kolibri's override_threshold=true: return the ranked candidates without the margin cut. */
  overrideThreshold?: boolean;
}

export interface Recommendation {
  id: string;
  rank: number; // 1 = best
  similarity: number;
  language: string;
  channelId?: string;
  contentId?: string;
  title?: string;
  description?: string;
  kind?: string;
}

export interface TopicRecommendations {
  topicId: string;
  recommendations: Recommendation[];
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  /** Items whose version was not newer than the stored one. */
  skipped: number;
}

export interface IndexLanguageInfo {
  language: string;
  size: number;
  kind: 'exact' | 'hnsw';
}

export interface RecommenderInfo {
  bundle: { name: string; version: string; backbone: string; dim: number; variant: string; textFormat: string; sha256: string };
  selection: { margin: number; maxCandidates: number; minItems: number };
  index: { total: number; languages: IndexLanguageInfo[]; snapshotVersion: number };
  knownTopics: number;
}

/** Per-stage timings and sizes, implemented by the metrics module (prom-client). */
export interface StageObserver {
  stage(name: 'tokenize' | 'queue' | 'inference' | 'search' | 'select', seconds: number): void;
  batch(size: number, tokens: number): void;
}

export interface RecommenderService {
  recommend(topics: TopicInput[], options?: RecommendOptions): Promise<TopicRecommendations[]>;
  /** Topics registered earlier (upsertTopics or a topics CSV at start), recommended by id. */
  recommendKnown(topicIds: string[], options?: RecommendOptions): Promise<TopicRecommendations[]>;
  upsertTopics(topics: TopicInput[]): Promise<number>;
  upsertContent(items: ContentItem[]): Promise<UpsertResult>;
  deleteContent(ids: string[]): Promise<{ deleted: number }>;
  /** Embeds texts as topics or contents (Contract 2 text building and model prefixes applied). */
  embedTopics(topics: TopicInput[]): Promise<Float32Array[]>;
  embedContent(items: ContentItem[]): Promise<Float32Array[]>;
  info(): RecommenderInfo;
  ready(): boolean;
  /** Flushes the index snapshot and releases the ONNX sessions. */
  close(): Promise<void>;
}
