import crypto from 'node:crypto';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { AppError } from '../../core/errors.ts';

/**
 * The container of a `dialin backup`: a plain POSIX tar (ustar) with three members, in this order,
 * so `tar -xf FILE && sha256sum -c SHA256SUMS` checks it without dialin:
 *   manifest.json   what the backup holds (core/backup-manifest.ts)
 *   data.sqlite | data.pgdump   the snapshot (SQLite online backup, or pg_dump -Fc)
 *   SHA256SUMS      the sha-256 of the two members above, in sha256sum's format
 * A member larger than 8 GiB has its size in tar's base-256 form (GNU, read by every tar).
 */

const BLOCK = 512;
const CHUNK = 4 * 1024 * 1024;
export const MANIFEST_MEMBER = 'manifest.json';
export const SUMS_MEMBER = 'SHA256SUMS';

function header(name: string, size: number, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'ascii');
  h.write('0000600\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  if (size <= 0o77777777777) h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  else {
    // base-256: the high bit of the first byte set, the size big-endian in the rest.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(Math.floor(mtimeSec).toString(8).padStart(11, '0') + '\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/**
 * Writes the archive to `file` (written whole or not at all: a temporary file, mode 0600, fsynced,
 * renamed at the end). The snapshot at `data.path` is consumed: where the file system can insert
 * a range at the start of a file (ext4, xfs), the snapshot becomes the archive in place, so its
 * gigabytes are not written a second time; elsewhere they are copied.
 */
export function writeBackupArchive(file: string, manifest: Buffer, data: { member: string; path: string }, mtimeMs: number): { dataSha256: string; bytes: number } {
  return archiveInPlace(file, manifest, data, mtimeMs) ?? archiveByCopy(file, manifest, data, mtimeMs);
}

/** Streams `size` bytes of `fd` from `offset` through `each`, in chunks. */
function readRange(fd: number, offset: number, size: number, what: string, each: (part: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - done), offset + done);
    if (n === 0) throw new AppError('BACKUP_FAILED', `The snapshot ${what} shrank while it was read.`);
    each(buf.subarray(0, n));
    done += n;
  }
}

/** After the data member: its padding, SHA256SUMS and the end of the archive; then fsync. */
function finishArchive(fd: number, pos: number, manifest: Buffer, member: string, size: number, dataSha256: string, mtime: number): number {
  const sums = Buffer.from(`${sha256(manifest)}  ${MANIFEST_MEMBER}\n${dataSha256}  ${member}\n`, 'ascii');
  const tail = Buffer.concat([Buffer.alloc(padding(size)), header(SUMS_MEMBER, sums.length, mtime), sums, Buffer.alloc(padding(sums.length) + 2 * BLOCK)]);
  fs.writeSync(fd, tail, 0, tail.length, pos);
  fs.fsyncSync(fd);
  return pos + tail.length;
}

/**
 * The snapshot turned into the archive without copying it: `fallocate --insert-range` opens a
 * hole of whole file-system blocks before its first byte, which the manifest's header, the
 * manifest (padded with spaces to fill the hole exactly: still the same JSON) and the data
 * member's header then fill. Null when the file system cannot (tmpfs, older kernels, no util-linux).
 */
function archiveInPlace(file: string, manifest: Buffer, data: { member: string; path: string }, mtimeMs: number): { dataSha256: string; bytes: number } | null {
  const size = fs.statSync(data.path).size;
  const block = Math.max(4096, fs.statSync(data.path).blksize || 4096);
  const hole = Math.ceil((2 * BLOCK + manifest.length) / block) * block;
  const r = spawnSync('fallocate', ['--insert-range', '--offset', '0', '--length', String(hole), data.path], { stdio: 'ignore' });
  if (r.status !== 0) return null;
  const padded = Buffer.concat([manifest.subarray(0, manifest.length - 1), Buffer.alloc(hole - 2 * BLOCK - manifest.length, ' '), manifest.subarray(manifest.length - 1)]);
  const mtime = mtimeMs / 1000;
  const fd = fs.openSync(data.path, 'r+');
  let result: { dataSha256: string; bytes: number };
  try {
    fs.fchmodSync(fd, 0o600);
    const head = Buffer.concat([header(MANIFEST_MEMBER, padded.length, mtime), padded, header(data.member, size, mtime)]);
    fs.writeSync(fd, head, 0, head.length, 0);
    const hash = crypto.createHash('sha256');
    readRange(fd, hole, size, data.path, (part) => hash.update(part));
    const dataSha256 = hash.digest('hex');
    const bytes = finishArchive(fd, hole + size, padded, data.member, size, dataSha256, mtime);
    result = { dataSha256, bytes };
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(data.path, file);
  return result;
}

/** The archive written beside the snapshot, the snapshot's bytes copied into it. */
function archiveByCopy(file: string, manifest: Buffer, data: { member: string; path: string }, mtimeMs: number): { dataSha256: string; bytes: number } {
  const tmp = `${file}.partial-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  let result: { dataSha256: string; bytes: number };
  try {
    const mtime = mtimeMs / 1000;
    const size = fs.statSync(data.path).size;
    const head = Buffer.concat([header(MANIFEST_MEMBER, manifest.length, mtime), manifest, Buffer.alloc(padding(manifest.length)), header(data.member, size, mtime)]);
    fs.writeSync(fd, head, 0, head.length, 0);
    let pos = head.length;
    const hash = crypto.createHash('sha256');
    const src = fs.openSync(data.path, 'r');
    try {
      readRange(src, 0, size, data.path, (part) => {
        hash.update(part);
        fs.writeSync(fd, part, 0, part.length, pos);
        pos += part.length;
      });
    } finally {
      fs.closeSync(src);
    }
    const dataSha256 = hash.digest('hex');
    result = { dataSha256, bytes: finishArchive(fd, pos, manifest, data.member, size, dataSha256, mtime) };
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return result;
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** A member found in the archive: where its bytes are. */
export interface Member {
  name: string;
  offset: number;
  size: number;
}

/** A backup whose members were all checked against SHA256SUMS. */
export interface VerifiedArchive {
  file: string;
  manifest: Buffer;
  data: Member;
  /** The data member's sha-256, as SHA256SUMS states it (checked). */
  dataSha256: string;
}

function corrupt(file: string, why: string): AppError {
  return new AppError('BACKUP_CORRUPT', `${file} is not a complete dialin backup: ${why}. Nothing was restored; use another copy of the backup.`, { field: 'file' });
}

function readSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    return Number(v);
  }
  const s = h.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim();
  if (!/^[0-7]+$/.test(s)) return -1;
  return parseInt(s, 8);
}

/**
 * Reads the archive's three members and checks each against SHA256SUMS (and the tar header
 * checksums, and that nothing is cut off). Only reads: a restore extracts the data afterwards.
 */
export function readBackupArchive(file: string): VerifiedArchive {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new AppError('FILE_NOT_FOUND', `Cannot read the backup ${file}.`, { field: 'file' });
  }
  try {
    const total = fs.fstatSync(fd).size;
    const members: Member[] = [];
    const hashes: string[] = [];
    const contents: Buffer[] = [];
    let pos = 0;
    for (let i = 0; i < 3; i++) {
      if (pos + BLOCK > total) throw corrupt(file, 'it is truncated (a member header is missing)');
      const h = Buffer.alloc(BLOCK);
      fs.readSync(fd, h, 0, BLOCK, pos);
      let sum = 0;
      for (let j = 0; j < BLOCK; j++) sum += j >= 148 && j < 156 ? 32 : h[j]!;
      const stated = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]+$/, ''), 8);
      if (h.toString('ascii', 257, 262) !== 'ustar' || stated !== sum) throw corrupt(file, `member ${i + 1} has a damaged header`);
      const name = h.toString('ascii', 0, 100).replace(/\0.*$/s, '');
      const size = readSize(h);
      if (size < 0) throw corrupt(file, `member ${name} has a damaged size`);
      pos += BLOCK;
      if (pos + size > total) throw corrupt(file, `it is truncated (${name} stops after ${total - pos} of ${size} bytes)`);
      const hash = crypto.createHash('sha256');
      const keep = i !== 1;
      const kept: Buffer[] = [];
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let done = 0; done < size; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - done), pos + done);
        const part = buf.subarray(0, n);
        hash.update(part);
        if (keep) kept.push(Buffer.from(part));
        done += n;
      }
      members.push({ name, offset: pos, size });
      hashes.push(hash.digest('hex'));
      contents.push(Buffer.concat(kept));
      pos += size + padding(size);
    }
    const [m, d, s] = members as [Member, Member, Member];
    if (m.name !== MANIFEST_MEMBER || s.name !== SUMS_MEMBER || !/^data\.(sqlite|pgdump)$/.test(d.name)) throw corrupt(file, 'its members are not manifest.json, the data and SHA256SUMS');
    const sums = new Map<string, string>();
    for (const line of contents[2]!.toString('ascii').split('\n')) {
      const mm = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      if (mm) sums.set(mm[2]!, mm[1]!);
    }
    if (sums.get(m.name) !== hashes[0]) throw corrupt(file, 'manifest.json does not match its checksum (the file was altered)');
    if (sums.get(d.name) !== hashes[1]) throw corrupt(file, `${d.name} does not match its checksum (the file was altered or cut short)`);
    return { file, manifest: contents[0]!, data: d, dataSha256: hashes[1]! };
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams a verified member's bytes (for pg_restore's standard input). */
export function memberStream(a: VerifiedArchive): fs.ReadStream {
  return fs.createReadStream(a.file, { start: a.data.offset, end: a.data.offset + a.data.size - 1, highWaterMark: CHUNK });
}
