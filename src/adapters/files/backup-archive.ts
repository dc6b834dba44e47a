import crypto from 'node:crypto';
import fs from 'node:fs';
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

/** Writes the archive to `file` (via a temporary file renamed at the end, mode 0600, fsynced). */
export function writeBackupArchive(file: string, manifest: Buffer, data: { member: string; path: string }, mtimeMs: number): { dataSha256: string; bytes: number } {
  const tmp = `${file}.partial-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  let pos = 0;
  let dataSha256 = '';
  const write = (b: Buffer) => {
    fs.writeSync(fd, b, 0, b.length, pos);
    pos += b.length;
  };
  try {
    const mtime = mtimeMs / 1000;
    write(header(MANIFEST_MEMBER, manifest.length, mtime));
    write(manifest);
    write(Buffer.alloc(padding(manifest.length)));
    const size = fs.statSync(data.path).size;
    write(header(data.member, size, mtime));
    const hash = crypto.createHash('sha256');
    const src = fs.openSync(data.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let copied = 0;
      while (copied < size) {
        const n = fs.readSync(src, buf, 0, Math.min(CHUNK, size - copied), copied);
        if (n === 0) throw new AppError('BACKUP_FAILED', `The snapshot ${data.path} shrank while it was copied.`);
        const part = buf.subarray(0, n);
        hash.update(part);
        write(part);
        copied += n;
      }
    } finally {
      fs.closeSync(src);
    }
    write(Buffer.alloc(padding(size)));
    dataSha256 = hash.digest('hex');
    const sums = Buffer.from(`${sha256(manifest)}  ${MANIFEST_MEMBER}\n${dataSha256}  ${data.member}\n`, 'ascii');
    write(header(SUMS_MEMBER, sums.length, mtime));
    write(sums);
    write(Buffer.alloc(padding(sums.length) + 2 * BLOCK));
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return { dataSha256, bytes: pos };
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
