// `cli index build`: embed every row of a LECR content.csv with the bundle(s) and write an index snapshot.
import { ContentIndex, writeSnapshot, type IndexOptions } from '../index/index.js';
import { contentString } from '../text.js';
import { CsvError } from './csv.js';
import { openEngine, embedAllFixed, type EngineOptions } from './engine.js';
import { readContent } from './lecr.js';
import { progressBar } from './progress.js';

export interface IndexBuildOptions extends EngineOptions {
  content: string;
  out: string;
  index?: Partial<IndexOptions>;
  maxBatchTokens?: number;
  progress?: boolean;
}

export interface IndexBuildResult {
  items: number;
  languages: { language: string; size: number; kind: string }[];
  snapshotVersion: number;
  seconds: number;
}

export async function buildIndex(opts: IndexBuildOptions): Promise<IndexBuildResult> {
  const t0 = performance.now();
  const items = readContent(opts.content);
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
    if (!it.id) throw new CsvError(`${opts.content}: record ${i + 1}: empty id`);
    if (!it.language) throw new CsvError(`${opts.content}: record ${i + 1} (id ${it.id}): empty language`);
    if (seen.has(it.id)) throw new CsvError(`${opts.content}: record ${i + 1}: id ${it.id} already in record ${seen.get(it.id)! + 1}`);
    seen.set(it.id, i);
  });
  const engine = await openEngine(opts);
  try {
    const texts = items.map((c) => contentString(c.title, c.description, c.text));
    const bar = opts.progress === false ? null : progressBar('embedding content', texts.length * engine.encoders.length);
    const perBundle: Float32Array[][] = [];
    for (const enc of engine.encoders) perBundle.push(await embedAllFixed(enc, texts, 'content', (n) => bar?.increment(n), opts.maxBatchTokens));
    bar?.stop();
    const index = new ContentIndex(engine.bundles.map((b) => b.identity), opts.index);
    // CSV order is insertion order: score ties break by it, as the Python evaluator breaks them by row.
    index.upsert(
      items.map((c, i) => ({
        meta: { id: c.id, language: c.language, title: c.title, description: c.description, kind: c.kind, channelId: c.channelId },
        vectors: perBundle.map((vs) => vs[i]),
      })),
    );
    const snapshotVersion = writeSnapshot(index, opts.out);
    return { items: index.size, languages: index.languages(), snapshotVersion, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await engine.close();
  }
}
