import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutageLog } from './outage-log.ts';

describe('OutageLog', () => {
  it('logs the first 503 at once, then at most one line per period with the count', () => {
    let now = 0;
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = { warn: (obj: object, msg: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }) };
    const o = new OutageLog(10_000, () => now);
    for (let i = 0; i < 500; i++) {
      o.note(log, 'DATABASE_UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:5432');
      now += 100; // 500 requests over 50 s
    }
    assert.equal(lines.length, 5);
    assert.match(lines[0]!.msg, /database cannot be reached/);
    assert.equal(lines[0]!.obj.answered503, 1);
    assert.equal(lines[1]!.obj.answered503, 100);
    assert.equal(lines.reduce((a, l) => a + (l.obj.answered503 as number), 0) <= 500, true);
    assert.ok(lines.every((l) => !('stack' in l.obj) && l.obj.cause === 'connect ECONNREFUSED 127.0.0.1:5432'));
  });
});
