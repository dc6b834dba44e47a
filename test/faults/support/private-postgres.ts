import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/free-port.ts';

const BIN_DIR = process.env.DIALIN_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL server of the test's own: it can be stopped without disturbing other tests. */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  url: string;
  /** `pg_ctl stop -m immediate`: every backend killed at once, no checkpoint (like a crash). */
  crash(): void;
  /** `pg_ctl start`, waiting until it accepts connections (after crash recovery). */
  start(): void;
  /** Stops it and removes its data directory. */
  remove(): void;
}

/** Whether this machine can run one: the server binaries and a `postgres` account to run them as. */
export function canRunPrivatePostgres(): boolean {
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    return fs.existsSync(path.join(BIN_DIR, 'initdb')) && fs.existsSync(path.join(BIN_DIR, 'pg_ctl'));
  } catch {
    return false;
  }
}


/**
 * initdb into a temporary directory and start the server on a free loopback port. The server runs
 * as the `postgres` user (initdb refuses root), through runuser when the tests run as root.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-pg-'));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asPostgres = (cmd: string, args: string[]) => {
    const argv = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path.join(BIN_DIR, cmd), ...args]] as const : [path.join(BIN_DIR, cmd), args] as const;
    execFileSync(argv[0], [...argv[1]], { stdio: 'pipe', cwd: dir });
  };
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=100`;
  const start = () => asPostgres('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', options]);
  const stop = (mode: string) => asPostgres('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    crash: () => stop('immediate'),
    start,
    remove() {
      try {
        stop('immediate');
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
