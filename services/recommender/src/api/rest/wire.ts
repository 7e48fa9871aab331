// Mapping between the wire formats (Studio JSON, /v1 JSON — which gRPC messages are converted to as
// well) and the core's types (src/types.ts). Bodies reaching these functions have passed the JSON
// schemas, so only cross-field rules are checked here.
import { InputError } from '../../errors.js';
import type {
  ContentItem,
  Recommendation,
  RecommendOptions,
  RecommenderInfo,
  TopicInput,
  TopicRecommendations,
} from '../../types.js';

// ---------------------------------------------------------------- Kolibri Studio

export interface StudioAncestor { id: string; title: string; description: string; language?: string; level: number }
export interface StudioTopic { id: string; channel_id: string; title: string; description: string; language: string; ancestors?: StudioAncestor[] }
export interface StudioTopicsRequest { topics: StudioTopic[]; metadata?: Record<string, unknown> }
export interface StudioFile { url: string; preset: string; language?: string }
export interface StudioResource {
  id: string; channel_id: string; content_id: string; channel_version: number;
  title: string; description: string; text?: string; language?: string; files?: StudioFile[];
}
export interface StudioContentRequest { resources: StudioResource[]; metadata?: Record<string, unknown> }

/** Studio numbers ancestors root = 0 … parent = highest; Contract 2 wants parent first. */
export function studioTopicToInput(topic: StudioTopic): TopicInput {
  const ancestors = [...(topic.ancestors ?? [])].sort((a, b) => b.level - a.level);
  return {
    id: topic.id,
    title: topic.title,
    description: topic.description,
    language: topic.language,
    channelId: topic.channel_id,
    ancestors: ancestors.map((a) => ({ id: a.id, title: a.title, description: a.description })),
  };
}

// The first file with a primary (non-thumbnail, non-dependency) preset tells the resource kind.
const KIND_BY_PRESET: Record<string, string> = {
  high_res_video: 'video', low_res_video: 'video', video_subtitle: 'video',
  audio: 'audio',
  document: 'document', epub: 'document', bloompub: 'document',
  exercise: 'exercise', qti: 'exercise',
  html5_zip: 'html5', h5p: 'html5', zim: 'html5', imscp_zip: 'html5',
  slideshow_image: 'slideshow', slideshow_manifest: 'slideshow',
};

export function kindFromFiles(files: StudioFile[] | undefined): string | undefined {
  for (const f of files ?? []) if (KIND_BY_PRESET[f.preset]) return KIND_BY_PRESET[f.preset];
  return undefined;
}

const LANGUAGE = /^[a-z]{2,3}(?:-[a-zA-Z]+)*$/;

export function studioResourcesToItems(request: StudioContentRequest): ContentItem[] {
  const fallback = request.metadata?.language;
  const fallbackLanguage = typeof fallback === 'string' && LANGUAGE.test(fallback) ? fallback : undefined;
  return request.resources.map((r, i) => {
    const language = r.language ?? fallbackLanguage;
    if (!language) {
      throw new InputError(`resources[${i}].language`, 'is required when the request has no metadata.language');
    }
    return {
      id: r.id,
      title: r.title,
      description: r.description,
      text: r.text,
      language,
      channelId: r.channel_id,
      contentId: r.content_id,
      version: r.channel_version,
      kind: kindFromFiles(r.files),
    };
  });
}

export function studioRecommendations(results: TopicRecommendations[]) {
  return {
    topics: results.map((t) => ({
      id: t.topicId,
      recommendations: t.recommendations.map((r) => ({
        id: r.id,
        channel_id: r.channelId ?? null,
        rank: r.rank,
        title: r.title ?? '',
        description: r.description ?? '',
        similarity: r.similarity,
      })),
    })),
  };
}

/** Studio sends override_threshold as true/false (Python's requests may send True/False). */
export function parseOverrideThreshold(raw: unknown): boolean {
  if (raw === undefined) return false;
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const text = String(value).trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0' || text === '') return false;
  throw new InputError('override_threshold', `must be true or false, got '${String(value)}'`);
}

// ---------------------------------------------------------------- /v1 (and gRPC)

export interface V1Ancestor { id?: string; title: string; description?: string }
export interface V1Topic { id: string; title: string; description?: string; language: string; channel_id?: string; ancestors?: V1Ancestor[] }
export interface V1Content {
  id: string; title: string; description?: string; text?: string; language: string;
  channel_id?: string; content_id?: string; kind?: string; version?: number;
}
export interface V1RecommendOptions {
  margin?: number; max_items?: number; max_candidates?: number;
  languages?: string[]; channels?: string[]; override_threshold?: boolean;
}
export interface V1RecommendRequest { topics?: V1Topic[]; topic_ids?: string[]; options?: V1RecommendOptions }
export interface V1EmbedRequest { topics?: V1Topic[]; contents?: V1Content[] }

export function v1TopicToInput(t: V1Topic): TopicInput {
  return {
    id: t.id,
    title: t.title,
    description: t.description,
    language: t.language,
    channelId: t.channel_id,
    ancestors: (t.ancestors ?? []).map((a) => ({ id: a.id, title: a.title, description: a.description })),
  };
}

export function v1ContentToItem(c: V1Content): ContentItem {
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    text: c.text,
    language: c.language,
    channelId: c.channel_id,
    contentId: c.content_id,
    kind: c.kind,
    version: c.version,
  };
}

export function v1Options(o: V1RecommendOptions | undefined): RecommendOptions {
  const options: RecommendOptions = {};
  if (!o) return options;
  if (o.margin !== undefined) options.margin = o.margin;
  if (o.max_items !== undefined) options.maxItems = o.max_items;
  if (o.max_candidates !== undefined) options.maxCandidates = o.max_candidates;
  if (o.languages !== undefined) options.languages = o.languages;
  if (o.channels !== undefined) options.channels = o.channels;
  if (o.override_threshold !== undefined) options.overrideThreshold = o.override_threshold;
  return options;
}

/** Exactly one of two alternative arrays must be given (JSON Schema oneOf gives unreadable errors). */
export function exactlyOne(body: Record<string, unknown>, a: string, b: string): string {
  const hasA = body[a] !== undefined;
  const hasB = body[b] !== undefined;
  if (hasA === hasB) throw new InputError(a, `give exactly one of '${a}' and '${b}'${hasA ? ', not both' : ''}`);
  return hasA ? a : b;
}

/** Ids must be unique within one request: a duplicate would be ambiguous (which one wins?). */
export function uniqueIds(ids: string[], field: string): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined) throw new InputError(`${field}[${i}]`, `duplicate id '${id}' (also at ${field}[${first}])`);
    seen.set(id, i);
  });
}

export function v1Recommendation(r: Recommendation) {
  return {
    id: r.id,
    rank: r.rank,
    similarity: r.similarity,
    language: r.language,
    channel_id: r.channelId,
    content_id: r.contentId,
    title: r.title,
    description: r.description,
    kind: r.kind,
  };
}

export function v1Recommendations(results: TopicRecommendations[]) {
  return { topics: results.map((t) => ({ topic_id: t.topicId, recommendations: t.recommendations.map(v1Recommendation) })) };
}

export function v1Info(info: RecommenderInfo, ready: boolean) {
  return {
    ready,
    bundle: {
      name: info.bundle.name,
      version: info.bundle.version,
      backbone: info.bundle.backbone,
      dim: info.bundle.dim,
      variant: info.bundle.variant,
      text_format: info.bundle.textFormat,
      sha256: info.bundle.sha256,
    },
    selection: { margin: info.selection.margin, max_candidates: info.selection.maxCandidates, min_items: info.selection.minItems },
    index: {
      total: info.index.total,
      snapshot_version: info.index.snapshotVersion,
      languages: info.index.languages.map((l) => ({ language: l.language, size: l.size, kind: l.kind })),
    },
    known_topics: info.knownTopics,
  };
}

// ---------------------------------------------------------------- core field names → wire names

/** Renames applied after camelCase → snake_case, for a route whose wire names differ from the core's. */
export type FieldRenames = readonly (readonly [RegExp, string])[];

export const STUDIO_CONTENT_FIELDS: FieldRenames = [
  [/^items\[/, 'resources['],
  [/^(resources\[\d+\])\.version\b/, '$1.channel_version'],
];

/** The core names fields as in src/types.ts ("topicIds[0]", "items[2].channelId"); callers sent snake_case. */
export function wireField(field: string, renames: FieldRenames = []): string {
  let wire = field.replace(/[a-z][A-Z]/g, (pair) => `${pair[0]}_${pair[1].toLowerCase()}`);
  for (const [pattern, replacement] of renames) wire = wire.replace(pattern, replacement);
  return wire;
}

/** Runs a core call, re-labelling an InputError's field with the name the caller used. */
export async function inWireTerms<T>(run: () => Promise<T>, renames: FieldRenames = []): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const field = wireField(err.field, renames);
    if (field === err.field) throw err;
    const prefix = `${err.field}: `;
    const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    throw new InputError(field, detail, err.status);
  }
}
