import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/errors.ts';

/**
 * A small multipart/form-data reader for the admin center's CSV upload (the one form that sends a
 * file): text fields become strings, file fields Buffers (never decoded here: the CSV reader checks
 * the bytes as strict UTF-8 and every cell). Anything malformed is refused with CSV_INVALID.
 */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string | Buffer> {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const bad = (why: string) => new AppError('CSV_INVALID', `The upload is not a valid form: ${why}.`, { field: 'file' });
  if (!m) throw bad('no boundary');
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const out: Record<string, string | Buffer> = {};
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw bad('no part');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return out;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') throw bad('a part does not start on its own line');
    const headEnd = body.indexOf('\r\n\r\n', pos + 2);
    if (headEnd < 0) throw bad('a part has no headers');
    const head = body.subarray(pos + 2, headEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (next < 0) throw bad('the last part is not closed');
    const content = body.subarray(headEnd + 4, next);
    const disp = /^content-disposition:\s*form-data;([^\r\n]*)$/im.exec(head);
    const name = disp ? /\bname="([^"]*)"/.exec(disp[1]!)?.[1] : undefined;
    if (!name) throw bad('a part has no name');
    const isFile = /\bfilename="/.test(disp![1]!);
    if (Object.hasOwn(out, name)) throw bad(`the field ${name} is sent twice`);
    out[name] = isFile ? Buffer.from(content) : content.toString('utf8');
    pos = next + 2;
  }
}

/** Makes `app` (a plugin scope of its own) read multipart/form-data bodies up to `bodyLimit` bytes. */
export function acceptMultipart(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit }, (req, body, done) => {
    try {
      done(null, parseMultipart(body as Buffer, String(req.headers['content-type'] ?? '')));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}
