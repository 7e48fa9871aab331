import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, DEFAULTS } from '../src/defaults.js';
import { ancestorTitles, cleanAndCut, contentString, pyStrip, topicString, TEXT_FORMAT_VERSION } from '../src/text.js';

interface Cases {
  text_format: string;
  topics: { title: string; description: string; ancestors: string[]; expected: string }[];
  content: { title: string; description: string; text: string; expected: string }[];
}
const cases: Cases = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'text_format_cases.json'), 'utf8'));

test('the shared cases are for the configured text format', () => {
  assert.equal(cases.text_format, TEXT_FORMAT_VERSION);
  assert.equal(TEXT_FORMAT_VERSION, DEFAULTS.text_format.version);
  assert.ok(cases.topics.length > 0 && cases.content.length > 0);
});

for (const [i, c] of cases.topics.entries()) {
  test(`topic case ${i}: ${JSON.stringify(c.title)}`, () => {
    assert.equal(topicString(c.title, c.description, c.ancestors), c.expected);
  });
}

for (const [i, c] of cases.content.entries()) {
  test(`content case ${i}: ${JSON.stringify(c.title)}`, () => {
    assert.equal(contentString(c.title, c.description, c.text), c.expected);
  });
}

test('strip follows Python, not JavaScript, whitespace rules', () => {
  assert.equal(pyStrip('\u001fx\u0085'), 'x'); // Python strips these, JS trim() does not
  assert.equal(pyStrip('\ufeffx'), '\ufeffx'); // JS trim() strips BOM, Python does not
  assert.equal(topicString('\ufeffA', undefined), '\ufeffA # ');
});

test('content text is cut by code points and loses U+E009 and URLs', () => {
  const astral = '😀'.repeat(300); // one "word" of 300 code points (600 UTF-16 units)
  assert.equal(Array.from(cleanAndCut(astral)).length, DEFAULTS.text_format.content_text_max_chars);
  assert.equal(cleanAndCut('a\ue009b https://x.y/z\u00a0c'), 'ab \u00a0c');
});

test('ancestor walk stops at cycles and unknown parents', () => {
  const parentOf = new Map<string, string | null>([['c', 'b'], ['b', 'a'], ['a', 'c'], ['x', 'missing']]);
  const titleOf = new Map([['a', 'A'], ['b', 'B'], ['c', 'C'], ['x', 'X']]);
  assert.deepEqual(ancestorTitles('c', parentOf, titleOf), ['B', 'A']);
  assert.deepEqual(ancestorTitles('x', parentOf, titleOf), []);
});
