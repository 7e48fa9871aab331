// Request validation with Ajv (JSON Schema draft-07). The schemas in ./schemas are static JSON so
// the OpenAPI document can show them; the configured limits (MAX_TEXT_CHARS, MAX_TOPICS_PER_REQUEST)
// are written into a copy of them when the validators are built. Every failure becomes an
// InputError whose field is a readable path ("topics[0].ancestors[1].title").
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InputError } from '../../errors.js';
import embedTopicsSchema from './schemas/embed-topics-request.json' with { type: 'json' };
import embedContentSchema from './schemas/embed-content-request.json' with { type: 'json' };
import v1Schema from './schemas/v1.json' with { type: 'json' };

export interface RequestLimits {
  /** Longest title / description / text (characters). */
  maxTextChars: number;
  /** Most topics, resources, items or ids in one request. */
  maxItemsPerRequest: number;
}

type JsonSchema = Record<string, unknown>;

const TEXT_FIELDS = new Set(['title', 'description', 'text']);
const BULK_ARRAYS = new Set(['topics', 'resources', 'items', 'ids', 'topic_ids', 'contents']);

/** A deep copy of `schema` with maxLength on text fields and maxItems on bulk arrays. */
export function withLimits(schema: JsonSchema, limits: RequestLimits): JsonSchema {
  const copy = structuredClone(schema);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const obj = node as JsonSchema;
    const props = obj.properties as Record<string, JsonSchema> | undefined;
    if (props && typeof props === 'object') {
      for (const [key, prop] of Object.entries(props)) {
        if (TEXT_FIELDS.has(key) && prop.type === 'string') prop.maxLength = limits.maxTextChars;
        if (BULK_ARRAYS.has(key) && prop.type === 'array') prop.maxItems = limits.maxItemsPerRequest;
      }
    }
    Object.values(obj).forEach(visit);
  };
  visit(copy);
  return copy;
}

export const SCHEMAS = {
  embedTopics: embedTopicsSchema as JsonSchema,
  embedContent: embedContentSchema as JsonSchema,
  v1: v1Schema as JsonSchema,
};

export type Validator = (body: unknown) => void;

export interface Validators {
  studioRecommend: Validator;
  studioEmbedContent: Validator;
  v1Recommend: Validator;
  v1UpsertContent: Validator;
  v1DeleteContent: Validator;
  v1RegisterTopics: Validator;
  v1Embed: Validator;
}

// Compiling the schemas takes tens of milliseconds; REST and gRPC (and tests) share one set per limits.
const compiled = new Map<string, Validators>();

export function buildValidators(limits: RequestLimits): Validators {
  const key = `${limits.maxTextChars}/${limits.maxItemsPerRequest}`;
  let validators = compiled.get(key);
  if (!validators) {
    validators = compileValidators(limits);
    compiled.set(key, validators);
  }
  return validators;
}

function compileValidators(limits: RequestLimits): Validators {
  // verbose: errors carry the offending data and schema, used for the messages below.
  const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
  ajv.addKeyword('x-message'); // human wording for a pattern, read back in describe()
  ajv.addSchema(withLimits(SCHEMAS.v1, limits));
  const wrap = (validate: ValidateFunction | undefined, name: string): Validator => {
    if (!validate) throw new Error(`schema ${name} not found`);
    return (body) => {
      if (!validate(body)) throw describe(validate.errors?.[0], limits);
    };
  };
  const v1 = (name: string) => wrap(ajv.getSchema(`v1#/definitions/${name}`), name);
  return {
    studioRecommend: wrap(ajv.compile(withLimits(SCHEMAS.embedTopics, limits)), 'embed_topics_request'),
    studioEmbedContent: wrap(ajv.compile(withLimits(SCHEMAS.embedContent, limits)), 'embed_content_request'),
    v1Recommend: v1('recommendRequest'),
    v1UpsertContent: v1('upsertContentRequest'),
    v1DeleteContent: v1('deleteContentRequest'),
    v1RegisterTopics: v1('registerTopicsRequest'),
    v1Embed: v1('embedRequest'),
  };
}

/** "/topics/0/ancestors/1/title" → "topics[0].ancestors[1].title" */
export function pointerToField(pointer: string): string {
  let field = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    field = /^\d+$/.test(part) ? `${field}[${part}]` : field ? `${field}.${part}` : part;
  }
  return field;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return 'a string';
  return `a ${typeof value}`;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.length > 60 ? `${text.slice(0, 57)}...` : text}'`;
}

function describe(error: ErrorObject | undefined, limits: RequestLimits): InputError {
  if (!error) return new InputError('body', 'is invalid');
  let field = pointerToField(error.instancePath);
  const lastKey = field.replace(/\[\d+\]$/, '').split('.').pop() ?? '';
  const params = error.params as Record<string, unknown>;
  const data = error.data as unknown;
  let reason: string;
  switch (error.keyword) {
    case 'required':
      field = field ? `${field}.${String(params.missingProperty)}` : String(params.missingProperty);
      reason = 'is required';
      break;
    case 'additionalProperties':
      field = field ? `${field}.${String(params.additionalProperty)}` : String(params.additionalProperty);
      reason = 'is not a known field (unknown fields are rejected)';
      break;
    case 'type':
      reason = `must be ${params.type === 'integer' ? 'an integer' : params.type === 'object' ? 'an object' : params.type === 'array' ? 'an array' : `a ${String(params.type)}`}, got ${jsonType(data)}`;
      break;
    case 'pattern': {
      const wording = (error.parentSchema as JsonSchema | undefined)?.['x-message'];
      reason = `${typeof wording === 'string' ? wording : `must match ${String(params.pattern)}`}, got ${preview(data)}`;
      break;
    }
    case 'maxLength':
      reason = `must be at most ${String(params.limit)} characters${params.limit === limits.maxTextChars ? ' (MAX_TEXT_CHARS)' : ''}, got ${(data as string).length}`;
      break;
    case 'minLength':
      reason = 'must not be empty';
      break;
    case 'maxItems': {
      const setting = BULK_ARRAYS.has(lastKey) && params.limit === limits.maxItemsPerRequest ? ' (MAX_TOPICS_PER_REQUEST)' : '';
      reason = `must have at most ${String(params.limit)} entries${setting}, got ${(data as unknown[]).length}`;
      break;
    }
    case 'minItems':
      reason = `must have at least ${String(params.limit)} ${params.limit === 1 ? 'entry' : 'entries'}`;
      break;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      reason = `must be ${String(params.comparison)} ${String(params.limit)}, got ${String(data)}`;
      break;
    case 'enum':
      reason = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${preview(data)}`;
      break;
    default:
      reason = error.message ?? 'is invalid';
  }
  return new InputError(field || 'body', reason, 400);
}
