import type pg from 'pg';
import { loadPg } from '../adapters/db/database.ts';
import { OUTBOX_CHANNEL } from '../app/mail-queue.ts';

/**
 * LISTENs for outbox NOTIFYs on PostgreSQL (sent by whichever process commits mail rows) and calls
 * `onNotify`. A lost connection is re-opened after a pause; meanwhile the worker's poll covers.
 */
export function listenForOutbox(databaseUrl: string, onNotify: () => void, onError: (e: Error) => void): { close(): Promise<void> } {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const connect = async () => {
    const c = new (loadPg().Client)({ connectionString: databaseUrl });
    c.on('notification', () => onNotify());
    c.on('error', (e) => {
      onError(e);
      reconnect(c);
    });
    c.on('end', () => reconnect(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (closed) return void c.end().catch(() => {});
      client = c;
      onNotify(); // rows may have been written while we were not listening
    } catch (e) {
      onError(e as Error);
      reconnect(c);
    }
  };
  const reconnect = (c: pg.Client) => {
    if (client === c) client = null;
    if (closed || retry) return;
    void c.end().catch(() => {});
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, 1000);
    retry.unref();
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
