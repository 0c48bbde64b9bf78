// Marks version requirements of an ELF64 little-endian shared object weak (VER_FLG_WEAK), so the
// dynamic loader accepts the object even when a library lacks that version (it still refuses a
// missing symbol). Walks the same Verneed/Vernaux chains the loader walks: PT_DYNAMIC's DT_VERNEED,
// DT_VERNEEDNUM and DT_STRTAB, mapped to file offsets through the PT_LOAD segments.
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_STRTAB = 5n;
const DT_VERNEED = 0x6ffffffen;
const DT_VERNEEDNUM = 0x6fffffffn;
const VER_FLG_WEAK = 2;

/** @param {Buffer} buf the whole file, edited in place; @param {string[]} names e.g. ["GLIBC_2.38"]
 *  @returns {string[]} the names found (each marked weak) */
export function markVersionsWeak(buf, names) {
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error("not an ELF file");
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error("only ELF64 little-endian is supported");
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const loads = [];
  let dynamic;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const seg = {
      offset: Number(buf.readBigUInt64LE(p + 8)),
      vaddr: Number(buf.readBigUInt64LE(p + 16)),
      filesz: Number(buf.readBigUInt64LE(p + 32)),
    };
    if (type === PT_LOAD) loads.push(seg);
    if (type === PT_DYNAMIC) dynamic = seg;
  }
  if (dynamic === undefined) throw new Error("no PT_DYNAMIC segment");
  const fileOffset = (vaddr) => {
    const seg = loads.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    if (seg === undefined) throw new Error(`address 0x${vaddr.toString(16)} is in no PT_LOAD segment`);
    return vaddr - seg.vaddr + seg.offset;
  };
  let verneed;
  let verneednum = 0;
  let strtab;
  for (let d = dynamic.offset; d + 16 <= dynamic.offset + dynamic.filesz; d += 16) {
    const tag = buf.readBigInt64LE(d);
    const val = Number(buf.readBigUInt64LE(d + 8));
    if (tag === DT_NULL) break;
    if (tag === DT_VERNEED) verneed = fileOffset(val);
    if (tag === DT_VERNEEDNUM) verneednum = val;
    if (tag === DT_STRTAB) strtab = fileOffset(val);
  }
  if (verneed === undefined || strtab === undefined) throw new Error("no DT_VERNEED or DT_STRTAB");
  const cString = (off) => {
    const end = buf.indexOf(0, off);
    return buf.toString("latin1", off, end);
  };
  const found = [];
  let vn = verneed;
  for (let i = 0; i < verneednum; i++) {
    const cnt = buf.readUInt16LE(vn + 2);
    let aux = vn + buf.readUInt32LE(vn + 8);
    for (let j = 0; j < cnt; j++) {
      const name = cString(strtab + buf.readUInt32LE(aux + 8));
      if (names.includes(name)) {
        buf.writeUInt16LE(buf.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
        found.push(name);
      }
      const next = buf.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = buf.readUInt32LE(vn + 12);
    if (next === 0) break;
    vn += next;
  }
  return found;
}
