/**
 * Where to send a browser back to (`?back=`, `?next=`): only a path on this origin. The target is
 * resolved the way a browser resolves a Location header (the WHATWG URL parser drops tabs and
 * newlines and reads `\` as `/`, so `/\t/evil.example` is `//evil.example`, another host), and the
 * answer is the parser's own serialisation: ASCII only, so it is always a valid header value.
 * Anything that does not stay on this origin gives the fallback.
 */
const PLACEHOLDER_ORIGIN = 'http://this-origin.invalid';

export function safeRedirect(target: unknown, fallback: string): string {
  if (typeof target !== 'string' || target === '') return fallback;
  let url: URL;
  try {
    url = new URL(target, `${PLACEHOLDER_ORIGIN}/`);
  } catch {
    return fallback;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN || url.username !== '' || url.password !== '') return fallback;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // A serialised path that starts with two slashes (`/.//evil.example` normalises to it) is read
  // again by the browser as a host.
  if (!path.startsWith('/') || path.startsWith('//')) return fallback;
  return path;
}
