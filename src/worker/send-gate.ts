import type { OutgoingMail, Relay, RelayReceipt } from '../adapters/smtp/relay.ts';

/** A message the relay never saw: nothing was sent, the attempt does not count. */
export class NotStarted extends Error {}

/** A relay behind a gate: at most `limit` sends at once; `close` turns the waiting ones away. */
export interface GatedRelay extends Relay {
  close(): Promise<void>;
  /** Sends not yet started are refused with NotStarted; started ones run to their end. */
  closeGate(): void;
  /** Sends waiting for a connection now are refused with NotStarted (the gate stays open). */
  turnAwayWaiting(why: string): void;
}

/**
 * Lets at most `limit` messages (one per pooled connection) into the relay at once; the others
 * wait here rather than in nodemailer's queue, so that a stopping worker can give them back
 * unsent. A message's deadline runs from when its SMTP transaction starts, not from when it began
 * to wait: counted from the wait, a message let in with a second left ran out of time in the middle
 * of DATA on a busy machine, after the relay had it, and was sent again (a duplicate). The worker
 * keeps renewing the lease while it waits.
 */
export function gateRelay(relay: Relay, limit: number): GatedRelay {
  let active = 0;
  let closed = false;
  const waiting: { go: () => void; stop: (e: Error) => void }[] = [];
  const next = () => {
    if (active < limit && waiting.length) {
      active++;
      waiting.shift()!.go();
    }
  };
  return {
    description: relay.description,
    async send(mail: OutgoingMail, deadlineMs: number): Promise<RelayReceipt> {
      if (closed) throw new NotStarted('not sent: the worker was stopping');
      await new Promise<void>((go, stop) => {
        waiting.push({ go, stop });
        next();
      });
      try {
        return await relay.send(mail, deadlineMs);
      } finally {
        active--;
        next();
      }
    },
    check: () => relay.check(),
    turnAwayWaiting(why) {
      for (const w of waiting.splice(0)) w.stop(new NotStarted(`not sent: ${why}`));
    },
    closeGate() {
      closed = true;
      for (const w of waiting.splice(0)) w.stop(new NotStarted('not sent: the worker was stopping'));
    },
    close: () => relay.close(),
  };
}
