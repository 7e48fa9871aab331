// Sends Kolibri Studio-shaped POST /recommend requests for a few held-out topics of a LECR dataset
// and prints the service's ranked answer beside the curriculum's own links.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { data: { type: 'string' }, url: { type: 'string' }, topics: { type: 'string', default: '3' } },
});

// Minimal RFC 4180 reader (quoted fields, embedded commas/newlines): enough for our own CSVs.
function readCsv(file) {
  const text = readFileSync(file, 'utf8');
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (ch !== '\r') field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] ?? ''])));
}

const topics = readCsv(path.join(values.data, 'topics.csv'));
const content = new Map(readCsv(path.join(values.data, 'content.csv')).map((c) => [c.id, c]));
const correlations = new Map(readCsv(path.join(values.data, 'correlations.csv')).map((r) => [r.topic_id, r.content_ids.split(' ')]));
const byId = new Map(topics.map((t) => [t.id, t]));
let heldOut = new Set();
try {
  heldOut = new Set(readCsv(path.join(values.data, 'splits.csv')).filter((s) => s.fold === '0').map((s) => s.topic_id));
} catch { /* no splits file: any topic with content will do */ }

const chosen = topics
  .filter((t) => correlations.has(t.id) && (heldOut.size === 0 || heldOut.has(t.id)))
  .slice(0, Number(values.topics));

// Studio sends uuids; our dataset ids are not, so the demo gives each topic and ancestor one.
const uuidOf = new Map();
const uuid = (id) => uuidOf.get(id) ?? (uuidOf.set(id, randomUUID()), uuidOf.get(id));
for (const t of chosen) {
  const chain = [];
  for (let p = byId.get(t.parent); p; p = byId.get(p.parent)) chain.push(p);
  const ancestors = chain.reverse().map((a, level) => ({ id: uuid(a.id), title: a.title, description: a.description, level }));
  const body = {
    topics: [{ id: uuid(t.id), channel_id: uuid(t.channel || 'channel'), title: t.title, description: t.description, language: t.language, ancestors }],
    metadata: { source: 'make demo' },
  };
  const res = await fetch(`${values.url}/recommend?override_threshold=false`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (!res.ok) { console.error(res.status, JSON.stringify(answer)); process.exit(1); }
  const truth = new Set(correlations.get(t.id));
  const recs = answer.topics[0].recommendations;
  const hits = recs.filter((r) => truth.has(r.id)).length;
  console.log(`\n== ${[t.title, ...chain.slice().reverse().map((a) => a.title)].join(' › ')}  [${t.language}]`);
  console.log(`   ${recs.length} recommended, ${hits} of them in the curriculum (which links ${truth.size})`);
  for (const r of recs.slice(0, 10)) {
    const mark = truth.has(r.id) ? '✓' : ' ';
    console.log(`   ${mark} ${String(r.rank).padStart(2)}  ${r.similarity.toFixed(3)}  ${r.title ?? content.get(r.id)?.title ?? r.id}`);
  }
}
console.log(`\ncurl -s -X POST '${values.url}/recommend?override_threshold=false' -H 'content-type: application/json' -d @request.json`);
