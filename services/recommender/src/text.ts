// Contract 2: topic and content strings, identical to training/curriculum_training/text.py.
// Both sides are checked against config/text_format_cases.json (test/text.test.ts).
//
// Python semantics reproduced here on purpose:
// - str.strip() removes Python's whitespace set, which is not JavaScript's (Python also strips
//   U+001C..U+001F and U+0085; JavaScript's trim() also strips U+FEFF and Python's does not);
// - len() and slicing count code points, not UTF-16 units (astral characters count once);
// - `http\S+` uses Python's Unicode \S (the same whitespace set).
import { DEFAULTS } from './defaults.js';

const FORMAT = DEFAULTS.text_format;
export const TEXT_FORMAT_VERSION: string = FORMAT.version;
export const SEPARATOR: string = FORMAT.separator;

// Python's str.isspace() set (what str.strip() and re's \s remove/match for str patterns).
const PY_WS = '\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_WS = new RegExp(`^[${PY_WS}]+`, 'u');
const TRAILING_WS = new RegExp(`[${PY_WS}]+$`, 'u');
const URL = new RegExp(`http[^${PY_WS}]+`, 'gu');
const PRIVATE_USE = /\ue009/gu;

/** Python's str.strip() with no argument. */
export function pyStrip(s: string): string {
  return s.replace(LEADING_WS, '').replace(TRAILING_WS, '');
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

function codePointSlice(s: string, end: number): string {
  if (s.length <= end) return s; // UTF-16 length ≥ code point count, so nothing to cut
  return Array.from(s).slice(0, end).join('');
}

/** Line breaks become single spaces ("\r\n" first, then "\n"), as the seed does for every column. */
export function oneLine(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && Number.isNaN(value)) return '';
  return String(value).replaceAll('\r\n', ' ').replaceAll('\n', ' ');
}

/** Seed `clean`: stringify; strip surrounding whitespace only when longer than one character. */
export function clean(value: unknown): string {
  const s = oneLine(value);
  return codePointLength(s) > 1 ? pyStrip(s) : s;
}

/** Seed `clean_and_cut` for content text: strip, drop U+E009 and URLs, first 32 words, 256 chars. */
export function cleanAndCut(text: unknown): string {
  let s = pyStrip(oneLine(text)).replace(PRIVATE_USE, '');
  s = s.replace(URL, '');
  s = s.split(' ').slice(0, FORMAT.content_text_max_words).join(' ');
  return codePointSlice(s, FORMAT.content_text_max_chars);
}

/**
 * Breadcrumb text: the topic's own title, each ancestor's title from the parent up to the root,
 * then the topic's own description (an empty description leaves a trailing separator, as the seed).
 */
export function topicString(title: unknown, description: unknown, ancestorTitles: readonly unknown[] = []): string {
  return [clean(title), ...ancestorTitles.map(clean), clean(description)].join(SEPARATOR);
}

export function contentString(title: unknown, description: unknown, text: unknown): string {
  return [clean(title), clean(description), cleanAndCut(text)].join(SEPARATOR);
}

/** Titles from the parent up to the root; stops on a missing parent or a cycle (as text.py). */
export function ancestorTitles(
  topicId: string,
  parentOf: ReadonlyMap<string, string | null | undefined>,
  titleOf: ReadonlyMap<string, string>,
): string[] {
  const out: string[] = [];
  const seen = new Set([topicId]);
  let parent = parentOf.get(topicId);
  while (parent && !seen.has(parent) && titleOf.has(parent)) {
    out.push(titleOf.get(parent)!);
    seen.add(parent);
    parent = parentOf.get(parent);
  }
  return out;
}
