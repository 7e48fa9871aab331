// The batch CLI: `npm run -w services/recommender cli -- <command>` (see README "Encoder, index and selection").
//   index build --bundle B --content content.csv --out DIR
//   score --bundle B --index DIR --topics topics.csv [--correlations c.csv] [--split-file splits.csv --fold 0] [--shard i/n] --out submission.csv
//   merge --out submission.csv shard-*.csv
//   bundle info --bundle B
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadBundle } from '../bundle/index.js';
import { DEFAULTS } from '../defaults.js';
import { buildIndex } from './index-build.js';
import { scoreTopics, parseShard } from './score.js';
import { mergeSubmissions, writeSubmission } from './submission.js';
import { formatMetrics, evaluatePredictions } from './metrics.js';
import { readCorrelations, readTopics } from './lecr.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stderrLogger = (io: CliIo) => ({
  info: () => undefined,
  warn: (o: object | string, msg?: string) => io.err(`warning: ${msg ?? ''} ${typeof o === 'string' ? o : JSON.stringify(o)}`),
  error: (o: object | string, msg?: string) => io.err(`error: ${msg ?? ''} ${typeof o === 'string' ? o : JSON.stringify(o)}`),
});

function int(name: string, min = 0) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}
function fraction(v: string) {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('must be a number in [0, 1)');
  return n;
}
// `npm run -w services/recommender cli` runs in the workspace folder; npm records where it was
// invoked in INIT_CWD, and relative paths on the command line mean relative to that.
const resolvePath = (p: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean).map(resolvePath)];

export function buildProgram(io: CliIo): Command {
  const program = new Command('recommender-cli').description('Batch tools of the curriculum recommender').exitOverride();
  program.configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const index = program.command('index').description('content index snapshots');
  index
    .command('build')
    .description('embed a LECR content.csv and write an index snapshot')
    .requiredOption('--bundle <dir>', 'bundle folder (repeat or comma-separate for an ensemble)', collect)
    .requiredOption('--content <csv>', 'LECR content.csv', resolvePath)
    .requiredOption('--out <dir>', 'index folder (snapshot written atomically)', resolvePath)
    .option('--variant <name>', 'bundle variant (default: the manifest default_variant)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', int('--threads', 1))
    .option('--exact-below <n>', 'languages with fewer items use exact search', int('--exact-below'), DEFAULTS.index.exact_below)
    .option('--hnsw-m <n>', 'HNSW M', int('--hnsw-m', 2), DEFAULTS.index.hnsw_m)
    .option('--hnsw-ef-construction <n>', 'HNSW efConstruction', int('--hnsw-ef-construction', 1), DEFAULTS.index.hnsw_ef_construction)
    .option('--hnsw-ef-search <n>', 'HNSW efSearch', int('--hnsw-ef-search', 1), DEFAULTS.index.hnsw_ef_search)
    .action(async (o) => {
      const r = await buildIndex({
        bundles: o.bundle,
        variant: o.variant,
        threads: o.threads,
        content: o.content,
        out: o.out,
        index: { exactBelow: o.exactBelow, hnswM: o.hnswM, hnswEfConstruction: o.hnswEfConstruction, hnswEfSearch: o.hnswEfSearch },
        logger: stderrLogger(io),
      });
      io.out(`index ${o.out}: ${r.items} items, snapshot ${r.snapshotVersion}, ${r.seconds.toFixed(1)} s (${(r.items / r.seconds).toFixed(0)} items/s)`);
      for (const l of r.languages) io.out(`  ${l.language.padEnd(6)} ${String(l.size).padStart(8)}  ${l.kind}`);
    });

  program
    .command('score')
    .description('score topics against an index and write a LECR submission CSV (topic_id,content_ids)')
    .requiredOption('--bundle <dir>', 'bundle folder (repeat or comma-separate for an ensemble)', collect)
    .requiredOption('--index <dir>', 'index folder built with the same bundle(s)', resolvePath)
    .requiredOption('--topics <csv>', 'LECR topics.csv (the whole tree: ancestors make the breadcrumbs)', resolvePath)
    .requiredOption('--out <csv>', 'submission CSV to write', resolvePath)
    .option('--correlations <csv>', 'ground truth: print F2/precision/recall per language', resolvePath)
    .option('--split-file <csv>', 'splits.csv (topic_id,fold,group,group_holdout): score only the held-out topics', resolvePath)
    .option('--fold <k>', 'with --split-file: evaluate fold k', int('--fold'))
    .option('--split <spec>', 'with --split-file: fold<k>, group or all (instead of --fold)')
    .option('--shard <i/n>', 'score only shard i of n (Kubernetes Indexed Job); join with merge')
    .option('--variant <name>', 'bundle variant (default: the manifest default_variant)')
    .option('--margin <m>', 'selection margin (default: the manifest)', fraction)
    .option('--threads <n>', 'ONNX Runtime intra-op threads', int('--threads', 1))
    .option('--metrics-json <file>', 'also write the metrics as JSON', resolvePath)
    .option('--batch-size <n>', 'topics per inference batch (the same in every shard)', int('--batch-size', 1), 64)
    .action(async (o) => {
      if ((o.fold !== undefined || o.split) && !o.splitFile) throw new InvalidArgumentError('--fold/--split need --split-file');
      const r = await scoreTopics({
        bundles: o.bundle,
        variant: o.variant,
        threads: o.threads,
        index: o.index,
        topics: o.topics,
        correlations: o.correlations,
        splitFile: o.splitFile,
        split: o.split ?? (o.fold !== undefined ? `fold${o.fold}` : undefined),
        shard: o.shard ? parseShard(o.shard) : undefined,
        out: o.out,
        margin: o.margin,
        batchSize: o.batchSize,
        logger: stderrLogger(io),
      });
      if (r.metrics) {
        io.out(formatMetrics(r.metrics));
        if (o.metricsJson) fs.writeFileSync(o.metricsJson, JSON.stringify(r.metrics, null, 2));
      }
      io.out(`${r.topics} topics → ${o.out} in ${r.seconds.toFixed(1)} s; throughput ${r.topicsPerSecond.toFixed(1)} topics/s (scoring only)`);
    });

  program
    .command('merge')
    .description('join shard submissions into one (sorted by topic id, byte-identical to an unsharded run)')
    .requiredOption('--out <csv>', 'merged submission', resolvePath)
    .option('--correlations <csv>', 'ground truth: print F2 of the merged submission', resolvePath)
    .option('--topics <csv>', 'with --correlations: topics.csv for per-language lines', resolvePath)
    .argument('<shards...>', 'shard submission CSVs')
    .action(async (shardArgs: string[], o) => {
      const shards = shardArgs.map(resolvePath);
      const merged = mergeSubmissions(shards);
      writeSubmission(o.out, merged);
      io.out(`${merged.size} topics from ${shards.length} shard(s) → ${o.out}`);
      if (o.correlations) {
        const languageOf = o.topics ? new Map(readTopics(o.topics).map((t) => [t.id, t.language])) : undefined;
        io.out(formatMetrics(evaluatePredictions(merged, readCorrelations(o.correlations), languageOf)));
      }
    });

  program
    .command('bundle')
    .description('artifact bundles')
    .command('info')
    .description('verify a bundle and print what it holds')
    .requiredOption('--bundle <dir>', 'bundle folder', resolvePath)
    .action(async (o) => {
      const b = await loadBundle(o.bundle);
      const m = b.manifest;
      io.out(`${m.name} ${m.version} (created ${m.created}) — checksums verified`);
      io.out(`backbone ${m.backbone}, pooling ${m.pooling}, dim ${m.dim}, max_length ${m.max_length}, text_format ${m.text_format}`);
      io.out(`prefixes: topic ${JSON.stringify(m.prefixes.topic)}, content ${JSON.stringify(m.prefixes.content)}`);
      io.out(`selection: margin ${m.selection.margin}, max_candidates ${m.selection.max_candidates}, min_items ${m.selection.min_items}`);
      io.out('variants:');
      for (const [name, v] of Object.entries(m.variants)) {
        const mb = fs.statSync(`${b.dir}/${v.file}`).size / 2 ** 20;
        io.out(`  ${(name + (name === m.default_variant ? '*' : '')).padEnd(16)} ${v.file.padEnd(22)} ${mb.toFixed(1).padStart(7)} MB  ${v.precision ?? ''} ${v.layers !== undefined ? `${v.layers} layers` : ''}  sha256 ${v.sha256.slice(0, 12)}…`);
      }
      const e = m.evaluation;
      io.out(e ? `evaluation: ${e.dataset ?? '?'} ${e.split ?? ''} F2 ${e.f2?.toFixed(4)} P ${e.precision?.toFixed(4)} R ${e.recall?.toFixed(4)}` : 'evaluation: none');
    });

  return program;
}

/** Runs the CLI; returns the exit code (errors are printed, not thrown). */
export async function main(argv: string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code?.startsWith('commander.')) return e.exitCode ?? 1; // commander already printed it (help included)
    io.err(`error: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
