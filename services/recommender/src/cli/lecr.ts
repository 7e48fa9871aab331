// Contract 1 (LECR schema) readers shared by the batch CLI and the service's known-topics file.
import { readCsvRecords } from './csv.js';
import { ancestorTitles } from '../text.js';
import type { ContentItem, TopicInput } from '../types.js';

export interface LecrTopic {
  id: string;
  title: string;
  description: string;
  language: string;
  parent: string;
  channel?: string;
}

export function readTopics(file: string): LecrTopic[] {
  return readCsvRecords(file, ['id', 'title', 'description', 'language', 'parent']).map((r) => ({
    id: r.id,
    title: r.title,
    description: r.description,
    language: r.language,
    parent: r.parent,
    channel: r.channel || undefined,
  }));
}

export function readContent(file: string): ContentItem[] {
  return readCsvRecords(file, ['id', 'title', 'description', 'text', 'language']).map((r) => ({
    id: r.id,
    title: r.title,
    description: r.description,
    text: r.text,
    language: r.language,
    kind: r.kind || undefined,
    channelId: r.channel || undefined,
  }));
}

/** topic_id → content ids (repeated rows merged, as the Python ground truth). */
export function readCorrelations(file: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of readCsvRecords(file, ['topic_id', 'content_ids'])) {
    const set = out.get(r.topic_id) ?? new Set<string>();
    for (const c of r.content_ids.split(/\s+/)) if (c) set.add(c);
    out.set(r.topic_id, set);
  }
  return out;
}

export interface SplitRow {
  topicId: string;
  fold: number;
  group: string;
  groupHoldout: boolean;
}

export const NO_FOLD = -1;

export function readSplits(file: string): SplitRow[] {
  return readCsvRecords(file, ['topic_id', 'fold', 'group', 'group_holdout']).map((r, i) => {
    const fold = Number(r.fold);
    if (!Number.isInteger(fold)) throw new Error(`${file}: record ${i + 1}: fold "${r.fold}" is not an integer`);
    return { topicId: r.topic_id, fold, group: r.group, groupHoldout: Number(r.group_holdout) === 1 || r.group_holdout === 'True' };
  });
}

/** Evaluation topic ids of a split spec ("fold<k>", "group", "all"), as splits.split_topic_ids. */
export function splitTopicIds(splits: readonly SplitRow[], spec: string): string[] {
  const correlated = splits.filter((s) => s.fold !== NO_FOLD);
  if (spec === 'all') return correlated.map((s) => s.topicId);
  if (spec === 'group') return correlated.filter((s) => s.groupHoldout).map((s) => s.topicId);
  const m = /^fold(\d+)$/.exec(spec);
  if (!m) throw new Error(`unknown split "${spec}": use fold<k> (e.g. fold0), group or all`);
  return correlated.filter((s) => s.fold === Number(m[1])).map((s) => s.topicId);
}

/** TopicInputs with Contract 2 breadcrumbs (ancestors from the same tree). */
export function topicInputs(topics: readonly LecrTopic[]): Map<string, TopicInput> {
  const parentOf = new Map(topics.map((t) => [t.id, t.parent || null]));
  const titleOf = new Map(topics.map((t) => [t.id, t.title]));
  const out = new Map<string, TopicInput>();
  for (const t of topics) {
    out.set(t.id, {
      id: t.id,
      title: t.title,
      description: t.description,
      language: t.language,
      channelId: t.channel,
      ancestors: ancestorTitles(t.id, parentOf, titleOf).map((title) => ({ title })),
    });
  }
  return out;
}
