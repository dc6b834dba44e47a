/** A message ready for the wire: the envelope decides who gets it, whatever the headers say. */
export interface OutgoingMail {
  envelope: { from: string; to: string[] };
  /** The complete RFC 5322 message, CRLF line ends. */
  raw: Uint8Array;
  messageId: string;
}

/** What the relay said once it took the message. */
export interface RelayReceipt {
  accepted: string[];
  rejected: string[];
  /** The reply to the end of DATA, e.g. "250 2.0.0 Ok: queued as 4F1". */
  response: string;
}

/** Where mail goes: an SMTP relay (pooled) or the local mail drop. */
export interface Relay {
  /** For logs and start-up messages; never holds a password. */
  readonly description: string;
  /** Sends one message; rejects with the relay's error, or a deadline error after `deadlineMs`. */
  send(mail: OutgoingMail, deadlineMs: number): Promise<RelayReceipt>;
  /** Checks that the relay can be reached (and TLS and login pass) without sending anything; rejects as `send` would. */
  check(): Promise<void>;
  close(): Promise<void>;
}
