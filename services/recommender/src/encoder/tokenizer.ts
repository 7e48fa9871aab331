// The bundle's tokenizer.json through @huggingface/tokenizers (pure JS), used exactly like Python's
// `Tokenizer.from_file(...)` + `enable_truncation(max_length)` (training/curriculum_training/tokenization.py):
// the prefix is prepended to the text, the sequence is right-truncated so that it fits max_length
// *together with* the special tokens, and then the special tokens are added (Rust's order of work).
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { ArtifactError } from '../errors.js';

// The package's public typings omit the post-processor call signature; this is its runtime shape.
type PostProcessor = ((tokens: string[], pair: string[] | null, addSpecial: boolean) => { tokens: string[] }) | null;

export class BundleTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly specialCount: number;
  readonly padId: number;

  constructor(
    readonly file: string,
    readonly maxLength: number,
  ) {
    let json: object;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ArtifactError(`${file}: unreadable tokenizer.json (${(err as Error).message})`);
    }
    try {
      // No tokenizer_config: Python's Tokenizer.from_file reads only tokenizer.json either.
      this.tokenizer = new Tokenizer(json, {});
    } catch (err) {
      throw new ArtifactError(`${file}: tokenizer not supported by @huggingface/tokenizers (${(err as Error).message})`);
    }
    this.specialCount = this.tokenizer.encode('', { add_special_tokens: true }).ids.length - this.tokenizer.encode('', { add_special_tokens: false }).ids.length;
    if (this.specialCount >= maxLength) throw new ArtifactError(`${file}: max_length ${maxLength} leaves no room beside ${this.specialCount} special tokens`);
    this.padId = this.tokenizer.token_to_id('<pad>') ?? this.tokenizer.token_to_id('[PAD]') ?? 0;
  }

  /** Token ids of prefix + text: special tokens included, right-truncated to max_length. */
  encode(text: string, prefix = ''): number[] {
    let tokens = this.tokenizer.tokenize(prefix + text, { add_special_tokens: false });
    const room = this.maxLength - this.specialCount;
    if (tokens.length > room) tokens = tokens.slice(0, room);
    const post = this.tokenizer.post_processor as unknown as PostProcessor;
    if (post) tokens = post(tokens, null, true).tokens;
    // Like the library's own encode(): a piece outside the vocabulary (Unigram can emit one) is the unknown token.
    const unk = (this.tokenizer.model as unknown as { unk_token_id?: number }).unk_token_id;
    return tokens.map((t: string) => {
      const id = this.tokenizer.token_to_id(t) ?? unk;
      if (id === undefined) throw new ArtifactError(`${this.file}: token "${t}" has no id and the tokenizer has no unknown token`);
      return id;
    });
  }
}
