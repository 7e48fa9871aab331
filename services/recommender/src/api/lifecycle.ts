// The HTTP and gRPC servers start listening before the model has loaded, so liveness probes answer
// at once and readiness reports "not yet". Until the real recommender is attached, every operation
// fails with NotReadyError (REST 503, gRPC UNAVAILABLE); during shutdown readiness turns false first
// so load balancers stop sending traffic while in-flight requests still finish.
import type {
  ContentItem,
  RecommendOptions,
  RecommenderInfo,
  RecommenderService,
  TopicInput,
  TopicRecommendations,
  UpsertResult,
} from '../types.js';

export class NotReadyError extends Error {
  constructor(message = 'the recommender is not ready yet (still loading the bundle and index)') {
    super(message);
    this.name = 'NotReadyError';
  }
}

export class DeferredRecommender implements RecommenderService {
  private target: RecommenderService | null = null;
  private draining = false;

  attach(recommender: RecommenderService): void {
    this.target = recommender;
  }

  /** Readiness goes false (probes, gRPC health) while requests already accepted keep being served. */
  startDraining(): void {
    this.draining = true;
  }

  get attached(): boolean {
    return this.target !== null;
  }

  private get core(): RecommenderService {
    if (!this.target) throw new NotReadyError();
    return this.target;
  }

  ready(): boolean {
    return !this.draining && this.target !== null && this.target.ready();
  }

  recommend(topics: TopicInput[], options?: RecommendOptions): Promise<TopicRecommendations[]> {
    return this.core.recommend(topics, options);
  }
  recommendKnown(topicIds: string[], options?: RecommendOptions): Promise<TopicRecommendations[]> {
    return this.core.recommendKnown(topicIds, options);
  }
  upsertTopics(topics: TopicInput[]): Promise<number> {
    return this.core.upsertTopics(topics);
  }
  upsertContent(items: ContentItem[]): Promise<UpsertResult> {
    return this.core.upsertContent(items);
  }
  deleteContent(ids: string[]): Promise<{ deleted: number }> {
    return this.core.deleteContent(ids);
  }
  embedTopics(topics: TopicInput[]): Promise<Float32Array[]> {
    return this.core.embedTopics(topics);
  }
  embedContent(items: ContentItem[]): Promise<Float32Array[]> {
    return this.core.embedContent(items);
  }
  info(): RecommenderInfo {
    return this.core.info();
  }
  async close(): Promise<void> {
    this.draining = true;
    await this.target?.close();
  }
}
