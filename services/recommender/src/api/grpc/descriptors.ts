// Server reflection needs the compiled FileDescriptorProtos. `npm run proto` writes them with protoc
// (--descriptor_set_out) next to the ts-proto code; a FileDescriptorSet is just
// `repeated FileDescriptorProto file = 1`, so splitting it needs only the wire reader.
import { readFileSync } from 'node:fs';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

const DESCRIPTOR_SET = new URL('./generated/recommender.binpb', import.meta.url);

export function loadFileDescriptorProtos(file: URL | string = DESCRIPTOR_SET): Buffer[] {
  const reader = new BinaryReader(readFileSync(file));
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  if (files.length === 0) throw new Error(`no file descriptors in ${String(file)} (run npm run proto)`);
  return files;
}
