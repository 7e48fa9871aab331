/** Bad input from a caller: REST answers 4xx and gRPC INVALID_ARGUMENT, naming `field`. Nothing was changed. */
export class InputError extends Error {
  constructor(
    public readonly field: string,
    message: string,
    public readonly status: number = 400,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}

/** A bundle or index snapshot that cannot be used (wrong checksum, dimension, text_format, identity). */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactError';
  }
}
