// Contract 3: the artifact bundle's manifest.json, checked field by field so a broken bundle is
// refused with a message naming the field rather than failing later in the encoder.
import { ArtifactError } from '../errors.js';

export interface VariantInfo {
  file: string;
  sha256: string;
  opset?: number;
  layers?: number;
  precision?: string;
}

export interface BundleManifest {
  name: string;
  version: string;
  created: string;
  backbone: string;
  pooling: 'mean' | 'cls';
  normalize: boolean;
  dim: number;
  max_length: number;
  prefixes: { topic: string; content: string };
  text_format: string;
  tokenizer: { file: string; sha256: string };
  variants: Record<string, VariantInfo>;
  default_variant: string;
  selection: { margin: number; max_candidates: number; min_items: number };
  evaluation: {
    dataset?: string;
    split?: string;
    f2?: number;
    precision?: number;
    recall?: number;
    per_language?: Record<string, unknown>;
  } | null;
  golden: { file: string; sha256: string };
  /** Optional: languages the bundle was trained/evaluated on. */
  languages?: string[] | null;
}

type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string';
const isNonEmpty: Check = (v) => typeof v === 'string' && v.length > 0;
const isPosInt: Check = (v) => Number.isInteger(v) && (v as number) > 0;
const isSha: Check = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A file name inside the bundle: no folders, no escapes. */
const isBundleFile: Check = (v) => typeof v === 'string' && v.length > 0 && !v.includes('/') && !v.includes('\\') && v !== '.' && v !== '..';

export function parseManifest(raw: unknown, where: string): BundleManifest {
  const fail = (field: string, what: string): never => {
    throw new ArtifactError(`${where}: field "${field}" ${what}`);
  };
  if (!isObject(raw)) return fail('(root)', 'must be a JSON object');
  const need = (obj: Record<string, unknown>, prefix: string, key: string, check: Check, what: string) => {
    if (!(key in obj)) fail(prefix + key, 'is missing');
    if (!check(obj[key])) fail(prefix + key, `must be ${what} (got ${JSON.stringify(obj[key])})`);
  };
  for (const k of ['name', 'version', 'backbone', 'text_format', 'default_variant']) need(raw, '', k, isNonEmpty, 'a non-empty string');
  need(raw, '', 'created', isString, 'a string');
  need(raw, '', 'pooling', (v) => v === 'mean' || v === 'cls', '"mean" or "cls"');
  need(raw, '', 'normalize', (v) => v === true, 'true (the service relies on unit-length embeddings)');
  need(raw, '', 'dim', isPosInt, 'a positive integer');
  need(raw, '', 'max_length', isPosInt, 'a positive integer');
  need(raw, '', 'prefixes', isObject, 'an object');
  const prefixes = raw.prefixes as Record<string, unknown>;
  for (const k of ['topic', 'content']) need(prefixes, 'prefixes.', k, isString, 'a string ("" when the backbone has none)');
  for (const k of ['tokenizer', 'golden']) {
    need(raw, '', k, isObject, 'an object');
    const o = raw[k] as Record<string, unknown>;
    need(o, `${k}.`, 'file', isBundleFile, 'a file name inside the bundle');
    need(o, `${k}.`, 'sha256', isSha, '64 lowercase hex digits');
  }
  need(raw, '', 'variants', (v) => isObject(v) && Object.keys(v).length > 0, 'a non-empty object');
  for (const [name, v] of Object.entries(raw.variants as Record<string, unknown>)) {
    if (!isObject(v)) fail(`variants.${name}`, 'must be an object');
    const o = v as Record<string, unknown>;
    need(o, `variants.${name}.`, 'file', isBundleFile, 'a file name inside the bundle');
    need(o, `variants.${name}.`, 'sha256', isSha, '64 lowercase hex digits');
  }
  if (!((raw.default_variant as string) in (raw.variants as object))) {
    fail('default_variant', `names "${raw.default_variant}", which is not among the variants (${Object.keys(raw.variants as object).join(', ')})`);
  }
  need(raw, '', 'selection', isObject, 'an object');
  const sel = raw.selection as Record<string, unknown>;
  need(sel, 'selection.', 'margin', (v) => typeof v === 'number' && v >= 0 && v < 1, 'a number in [0, 1)');
  need(sel, 'selection.', 'max_candidates', isPosInt, 'a positive integer');
  need(sel, 'selection.', 'min_items', (v) => Number.isInteger(v) && (v as number) >= 0, 'an integer >= 0');
  if (raw.evaluation !== undefined && raw.evaluation !== null && !isObject(raw.evaluation)) fail('evaluation', 'must be an object or null');
  if (raw.languages !== undefined && raw.languages !== null && !(Array.isArray(raw.languages) && raw.languages.every(isNonEmpty))) fail('languages', 'must be a list of language codes');
  return raw as unknown as BundleManifest;
}
