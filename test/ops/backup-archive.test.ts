import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readBackupArchive, writeBackupArchive } from '../../src/adapters/files/backup-archive.ts';

/** A snapshot of `size` random bytes in a fresh directory under `root`. */
function snapshot(root: string, size: number): { dir: string; snap: string; bytes: Buffer } {
  const dir = fs.mkdtempSync(path.join(root, 'dialin-archive-'));
  const snap = path.join(dir, 'dialin.tar.snapshot-1');
  const bytes = crypto.randomBytes(size);
  fs.writeFileSync(snap, bytes);
  return { dir, snap, bytes };
}

const manifest = Buffer.from(JSON.stringify({ format: 'dialin-backup', counts: { users: 3 } }, null, 2) + '\n');

// /tmp is ext4 here (a range can be inserted); /dev/shm is tmpfs (it cannot: the copy).
const places = [
  { root: os.tmpdir(), inPlace: true },
  { root: '/dev/shm', inPlace: false },
].filter((p) => fs.existsSync(p.root));

describe('the backup archive', () => {
  for (const { root, inPlace } of places) {
    it(`on ${root}: ${inPlace ? 'the snapshot becomes the archive in place (same inode)' : 'the snapshot is copied'}; tar and sha256sum read it, and so does the check a restore starts with`, () => {
      const { dir, snap, bytes } = snapshot(root, 3 * 1024 * 1024 + 123);
      try {
        const inode = fs.statSync(snap).ino;
        const file = path.join(dir, 'dialin.tar');
        const w = writeBackupArchive(file, manifest, { member: 'data.sqlite', path: snap }, Date.UTC(2026, 11, 3));
        assert.equal(w.dataSha256, crypto.createHash('sha256').update(bytes).digest('hex'));
        assert.equal(w.bytes, fs.statSync(file).size);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.equal(fs.statSync(file).ino === inode, inPlace, 'in place exactly where the file system can insert a range');
        assert.equal(fs.readdirSync(dir).filter((f) => f.includes('partial')).length, 0, 'no temporary file left');

        const out = path.join(dir, 'x');
        fs.mkdirSync(out);
        execFileSync('tar', ['-xf', file, '-C', out]);
        assert.deepEqual(fs.readdirSync(out).sort(), ['SHA256SUMS', 'data.sqlite', 'manifest.json']);
        execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
        assert.ok(fs.readFileSync(path.join(out, 'data.sqlite')).equals(bytes));
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')), JSON.parse(manifest.toString()), 'the manifest is the same JSON (padding is whitespace)');

        const v = readBackupArchive(file);
        assert.equal(v.dataSha256, w.dataSha256);
        assert.equal(v.data.size, bytes.length);
        const fd = fs.openSync(file, 'r');
        const back = Buffer.alloc(v.data.size);
        fs.readSync(fd, back, 0, back.length, v.data.offset);
        fs.closeSync(fd);
        assert.ok(back.equals(bytes));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
