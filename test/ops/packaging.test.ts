import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runCli } from '../support/cli.ts';

const UNITS = ['dialin.service', 'dialin-worker.service'];
const unitPath = (u: string) => path.join(ROOT, 'packaging/systemd', u);

/** The [Service] settings of a unit file, key → values (a key may repeat). */
function serviceSettings(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const s = /^\[(\w+)\]$/.exec(line.trim());
    if (s) section = s[1]!;
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv && section === 'Service') out.set(kv[1]!, [...(out.get(kv[1]!) ?? []), kv[2]!]);
  }
  return out;
}

it('the systemd units are hardened, share one dynamic user and keep their state under /var/lib/dialin', () => {
  for (const u of UNITS) {
    const s = serviceSettings(unitPath(u));
    for (const [k, v] of [['DynamicUser', 'yes'], ['User', 'dialin'], ['ProtectSystem', 'strict'], ['NoNewPrivileges', 'yes'], ['StateDirectory', 'dialin'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['CapabilityBoundingSet', '']]) {
      assert.deepEqual(s.get(k!), [v], `${u}: ${k}=${v}`);
    }
    assert.ok(s.get('Environment')!.includes('DIALIN_DATA_DIR=/var/lib/dialin'), `${u}: the data dir is the state directory`);
    assert.match(s.get('ExecStart')![0]!, new RegExp(`bin/dialin\\.js ${u === 'dialin.service' ? 'serve' : 'worker'}$`));
  }
});

it('systemd-analyze verify accepts both units without a warning', { skip: spawnSync('systemd-analyze', ['--version']).status === 0 ? false : 'systemd-analyze is not installed here' }, () => {
  for (const u of UNITS) {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath(u)], { encoding: 'utf8', timeout: 120_000 });
    // Lines about the unit file itself (unknown keys, bad values); not about the machine running the check.
    const aboutUnit = (r.stderr ?? '').split('\n').filter((l) => l.includes(u));
    assert.equal(r.status, 0, `${u}: ${r.stderr}`);
    assert.deepEqual(aboutUnit, [], `${u} has no warnings`);
  }
});

function dockerWorks(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

it('the Dockerfile runs dialin as a non-root user with its data in a volume', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  assert.match(final, /^USER dialin:dialin$/m, 'the image runs as dialin');
  assert.doesNotMatch(final, /^USER (root|0)\b/m);
  assert.match(final, /^VOLUME \["\/var\/lib\/dialin"\]$/m);
  assert.match(final, /DIALIN_DATA_DIR=\/var\/lib\/dialin/);
  assert.match(final, /postgresql-client/, 'pg_dump for dialin backup');
});

it('the image builds and its user is not root', { skip: dockerWorks() ? false : 'no Docker daemon answers here (docker info fails)', timeout: 1_800_000 }, () => {
  execFileSync('docker', ['build', '-t', 'dialin-test', ROOT], { stdio: 'ignore', timeout: 1_700_000 });
  const user = execFileSync('docker', ['run', '--rm', '--entrypoint', 'id', 'dialin-test', '-u'], { encoding: 'utf8' }).trim();
  assert.notEqual(user, '0');
  const version = execFileSync('docker', ['run', '--rm', 'dialin-test', '--version'], { encoding: 'utf8' }).trim();
  assert.equal(version, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

it('dialin --version prints the version of package.json', async () => {
  const expected = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag], { DIALIN_DATA_DIR: '/nonexistent-dialin-dir' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), expected);
  }
  assert.ok(!fs.existsSync('/nonexistent-dialin-dir'), '--version touches no data');
});
