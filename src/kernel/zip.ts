// A zip's central directory, read from the raw bytes without inflating anything, so that each caller can bound
// what its entries unpack to before any of it is held. ZIP64 is not read: nothing small enough to upload needs it.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Where a zip's central directory starts, how many entries it lists, and where the directory's end record is. */
export interface ZipDirectory {
  count: number;
  offset: number;
  end: number;
}

/** One entry as its headers describe it: its name, general-purpose flags, method, and packed data. */
export interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  packed: number;
  data: Uint8Array;
}

/** The directory from the end-of-central-directory record; undefined when there is none or it is out of place. */
export function zipDirectory(bytes: Uint8Array): ZipDirectory | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowest = Math.max(0, bytes.byteLength - 22 - 0xffff);
  for (let at = bytes.byteLength - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) !== EOCD) continue;
    const count = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 12, true);
    const offset = view.getUint32(at + 16, true);
    if (count === 0xffff || offset === 0xffffffff || offset + size > at) return undefined;
    return { count, offset, end: at };
  }
  return undefined;
}

/** Every entry the directory lists, in its order; undefined when any header is out of place or truncated. */
export function zipEntries(bytes: Uint8Array, directory: ZipDirectory): ZipEntry[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: ZipEntry[] = [];
  let at = directory.offset;
  for (let i = 0; i < directory.count; i++) {
    if (at + 46 > directory.end || view.getUint32(at, true) !== CENTRAL) return undefined;
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const packed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
    const name = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(nameBytes);
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (local + 30 > bytes.byteLength || view.getUint32(local, true) !== LOCAL) return undefined;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (packed === 0xffffffff || start + packed > bytes.byteLength) return undefined;
    entries.push({ name, flags, method, packed, data: bytes.subarray(start, start + packed) });
  }
  return entries;
}
