// The LECR submission CSV: `topic_id,content_ids` (content ids space-separated, best first), rows
// sorted by topic id so that any sharding merges back to the same bytes.
import fs from 'node:fs';
import { formatCsv, readCsvRecords, CsvError } from './csv.js';

export type Submission = Map<string, string[]>;

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function formatSubmission(rows: ReadonlyMap<string, readonly string[]>): string {
  const ids = [...rows.keys()].sort(byCodePoint);
  return formatCsv(['topic_id', 'content_ids'], ids.map((id) => [id, rows.get(id)!.join(' ')]));
}

export function writeSubmission(file: string, rows: ReadonlyMap<string, readonly string[]>): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, formatSubmission(rows));
  fs.renameSync(tmp, file); // no half-written submission under the final name
}

export function readSubmission(file: string): Submission {
  const out: Submission = new Map();
  readCsvRecords(file, ['topic_id', 'content_ids']).forEach((r, i) => {
    if (out.has(r.topic_id)) throw new CsvError(`${file}: record ${i + 1}: topic ${r.topic_id} appears twice`);
    out.set(r.topic_id, r.content_ids.split(' ').filter((c) => c !== ''));
  });
  return out;
}

/** Joins shard submissions; a topic in two shards is an error (the shards overlapped). */
export function mergeSubmissions(files: readonly string[]): Submission {
  const out: Submission = new Map();
  const from = new Map<string, string>();
  for (const f of files) {
    for (const [topic, ids] of readSubmission(f)) {
      if (out.has(topic)) throw new CsvError(`${f}: topic ${topic} is also in ${from.get(topic)} (overlapping shards)`);
      out.set(topic, ids);
      from.set(topic, f);
    }
  }
  return out;
}
