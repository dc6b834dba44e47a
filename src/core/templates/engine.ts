import { Liquid, type LiquidOptions, type Template } from 'liquidjs';
import { AppError } from '../errors.ts';
import { LIST_ITEM_PROPERTIES, OBJECT_PROPERTIES, SAMPLE_MAIL_DATA, TEMPLATE_VARIABLES, templateValues, variablesFor, type TemplateKind, type TemplatePart, type TemplateSet, type TemplateValues } from './variables.ts';

/** Tags a template may use: conditions, comments and loops over the list placeholders; no assignments, includes or layouts. */
const ALLOWED_TAGS: ReadonlySet<string> = new Set(['if', 'unless', 'comment', '#', 'for']);
/** Filters a template may use: text shaping only (no `raw`, no `date`, nothing that reads data). */
const ALLOWED_FILTERS: ReadonlySet<string> = new Set(['escape', 'upcase', 'downcase', 'capitalize', 'default', 'strip', 'append', 'prepend', 'replace', 'truncate', 'url_encode']);

/**
 * Limits of one template part: source size, render time (checked strictly when a template is
 * saved; the delivery worker allows more, since a loaded machine can stall a fast render), memory
 * and output size.
 */
export const TEMPLATE_LIMITS = Object.freeze({ sourceChars: 64_000, renderMs: 100, memoryBytes: 1_000_000, outputBytes: 256 * 1024 });

type Mode = 'html' | 'plain';

const OPTIONS: LiquidOptions = {
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // `{% if tollFreeNumber %}` is false for an empty value, as a template author expects.
  jsTruthy: true,
  // An in-memory file system with nothing in it: no template can read a file.
  templates: {},
  relativeReference: false,
  dynamicPartials: false,
  cache: false,
  // Given, so an engine does not ask Intl for the default locale (the slowest part of creating one).
  locale: 'en',
  memoryLimit: TEMPLATE_LIMITS.memoryBytes,
  parseLimit: TEMPLATE_LIMITS.sourceChars * 2,
};

/**
 * The Liquid engine of a mode and render limit, with only the allowed tags and filters; `html`
 * escapes every output. Engines are shared: after construction an engine holds no state (its
 * tags and filters are frozen), and the render, memory and parse limits are counted per render
 * or parse call. Building one per mail cost about 35 µs, most of a render.
 */
function engineFor(mode: Mode, renderLimitMs: number = TEMPLATE_LIMITS.renderMs): Liquid {
  const key = `${mode}:${renderLimitMs}`;
  let engine = engines.get(key);
  if (!engine) {
    engine = new RestrictedLiquid({ ...OPTIONS, renderLimit: renderLimitMs, ...(mode === 'html' ? { outputEscape: 'escape' as const } : {}) });
    Object.freeze(engine.tags);
    Object.freeze(engine.filters);
    // Callers use a handful of limits (saving, previews, delivery); never let the map grow unbounded.
    if (engines.size >= 16) engines.clear();
    engines.set(key, engine);
  }
  return engine;
}
const engines = new Map<string, Liquid>();

/** Liquid that registers only the allowed tags and filters (its constructor registers through these). */
class RestrictedLiquid extends Liquid {
  override registerTag(name: string, tag: Parameters<Liquid['registerTag']>[1]): void {
    if (ALLOWED_TAGS.has(name)) super.registerTag(name, tag);
  }
  override registerFilter(name: string, filter: Parameters<Liquid['registerFilter']>[1]): void {
    if (ALLOWED_FILTERS.has(name)) super.registerFilter(name, filter);
  }
}

const modeOf = (part: TemplatePart): Mode => (part === 'html' ? 'html' : 'plain');

/**
 * Parsed templates by mode and source. A parse result is immutable data (the escaping is part of
 * it), so it is safe to reuse; rendering state lives in the per-render context. Keyed
 * by the source string itself, whose hash the engine computes once per string.
 */
const parsed: Record<Mode, Map<string, Template[]>> = { html: new Map(), plain: new Map() };
const PARSE_CACHE_SIZE = 256;

function parse(source: string, mode: Mode): Template[] {
  const cache = parsed[mode];
  let t = cache.get(source);
  if (!t) {
    t = engineFor(mode).parse(source);
    if (cache.size >= PARSE_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source, t);
  }
  return t;
}

function invalid(part: TemplatePart, message: string): AppError {
  return new AppError('TEMPLATE_INVALID', `The ${part} template is not valid: ${message}`, { field: part });
}

/** "undefined filter: date, line:2, col:7" → "line 2: undefined filter: date". */
function describeLiquidError(e: unknown): string {
  const msg = String((e as Error)?.message ?? e).split('\n')[0]!;
  const m = /^(.*?), line:(\d+), col:(\d+)$/.exec(msg);
  return m ? `line ${m[2]}, column ${m[3]}: ${m[1]}` : msg;
}

/** Every loop walks a list placeholder (`{% for n in numbers %}`): no ranges, nothing that counts to a million. */
function checkLoops(part: TemplatePart, source: string): void {
  const lists = Object.keys(LIST_ITEM_PROPERTIES).join('|');
  const shape = new RegExp(`^\\s+[A-Za-z_][A-Za-z0-9_]*\\s+in\\s+(${lists})(\\s+reversed)?\\s*-?$`);
  for (const m of source.matchAll(/\{%-?\s*for\b([^%]*)%\}/g)) {
    if (!shape.test(m[1]!)) throw invalid(part, `"${m[0]}": a loop may only walk ${Object.keys(LIST_ITEM_PROPERTIES).join(', ')} ({% for n in numbers %}); the tag "for" is not allowed otherwise.`);
  }
}

/**
 * Checks one part of a template for `kind`: size, syntax, only allowed tags and filters, and only
 * the kind's placeholders (no property access). Then renders it once with sample values, so a
 * template that saves is a template that renders. Errors name the part and the line.
 */
export function validateTemplatePart(kind: TemplateKind, part: TemplatePart, source: string): void {
  if (typeof source !== 'string') throw invalid(part, 'it must be text.');
  if (source.length > TEMPLATE_LIMITS.sourceChars) throw new AppError('TEMPLATE_LIMIT_EXCEEDED', `The ${part} template has ${source.length} characters; at most ${TEMPLATE_LIMITS.sourceChars} are allowed.`, { field: part });
  if (part === 'subject' && /[\r\n]/.test(source)) throw invalid(part, 'a subject is one line.');
  let tpl: Template[];
  try {
    tpl = parse(source, modeOf(part));
  } catch (e) {
    throw invalid(part, describeLiquidError(e).replace(/tag "(.+)" not found/, 'the tag "$1" is not allowed').replace(/undefined filter: (\S+)/, 'the filter "$1" is not allowed'));
  }
  checkLoops(part, source);
  const allowed = new Set<string>(variablesFor(kind));
  const engine = engineFor(modeOf(part));
  // The list of uses is an array (a name like __proto__ survives); the analysis only adds the line.
  const where = engine.analyzeSync(tpl).globals;
  for (const full of engine.globalFullVariablesSync(tpl)) {
    const name = full.split(/[.[]/)[0]!;
    const use = Object.prototype.hasOwnProperty.call(where, name) ? where[name]!.find((v) => String(v) === full) : undefined;
    const at = use?.location ? `line ${use.location.row}, column ${use.location.col}: ` : '';
    if (!allowed.has(name)) {
      const why = Object.prototype.hasOwnProperty.call(TEMPLATE_VARIABLES, name) ? `{{ ${name} }} is not available in ${kind} mail` : `{{ ${full} }} is not a known placeholder`;
      throw invalid(part, `${at}${why}; use ${[...allowed].join(', ')}.`);
    }
    const fields = Object.prototype.hasOwnProperty.call(OBJECT_PROPERTIES, name) ? OBJECT_PROPERTIES[name]! : null;
    if (fields) {
      if (!fields.some((f) => full === `${name}.${f}`)) throw invalid(part, `${at}{{ ${full} }}: ${name} has only ${fields.map((f) => `${name}.${f}`).join(', ')}.`);
      continue;
    }
    const props = Object.prototype.hasOwnProperty.call(LIST_ITEM_PROPERTIES, name) ? LIST_ITEM_PROPERTIES[name]! : null;
    if (props) {
      // A list: itself, its size, or a property of its first, last or n-th item.
      const rest = full.slice(name.length);
      const ok = rest === '' || rest === '.size' || new RegExp(`^(\\.first|\\.last|\\[\\d+\\])\\.(${props.join('|')})$`).test(rest);
      if (!ok) throw invalid(part, `${at}{{ ${full} }}: the items of ${name} have only ${props.join(', ')}; write {% for n in ${name} %}{{ n.${props[0]} }}{% endfor %}.`);
      continue;
    }
    if (full !== name) throw invalid(part, `${at}{{ ${full} }}: placeholders have no properties; write {{ ${name} }}.`);
  }
  renderPart(engine, part, source, SAMPLE_VALUES);
}

/** Values used to check that a template renders (and for previews without a chosen user). */
export const SAMPLE_VALUES: TemplateValues = Object.freeze(templateValues(SAMPLE_MAIL_DATA, 'https://dialin.example.com/dialin', '••••••', 'https://dialin.example.com/dialin#pin-h', 'https://dialin.example.com/numbers/SAMPLE-Tok3n-of-the-bridge-Find-a-local-number0'));

const TOO_SLOW = 'takes too long to render';

/**
 * Whether a render was stopped by its time limit: the one render failure a loaded machine can
 * cause, so delivery tries it again later. Every other failure (memory, output size, a value the
 * template cannot take) comes from the template and the mail's own data and is the same next time.
 * Read from the message, which is all that crosses back from a compose thread.
 */
export function isRenderTimeout(e: unknown): boolean {
  return e instanceof AppError && e.code === 'TEMPLATE_LIMIT_EXCEEDED' && e.message.includes(TOO_SLOW);
}

/** Renders one part under the engine's limits; the output is capped too. */
function renderPart(engine: Liquid, part: TemplatePart, source: string, values: TemplateValues): string {
  let out: string;
  try {
    out = engine.renderSync(parse(source, modeOf(part)), { ...values });
  } catch (e) {
    const msg = describeLiquidError(e);
    if (/render limit exceeded/i.test(msg)) throw new AppError('TEMPLATE_LIMIT_EXCEEDED', `The ${part} template ${TOO_SLOW} (${msg}).`, { field: part });
    if (/limit exceeded/i.test(msg)) throw new AppError('TEMPLATE_LIMIT_EXCEEDED', `The ${part} template takes too much memory to render (${msg}).`, { field: part });
    throw invalid(part, msg);
  }
  if (out.length > TEMPLATE_LIMITS.outputBytes / 3 && new TextEncoder().encode(out).length > TEMPLATE_LIMITS.outputBytes) {
    throw new AppError('TEMPLATE_LIMIT_EXCEEDED', `The ${part} template renders to more than ${TEMPLATE_LIMITS.outputBytes} bytes.`, { field: part });
  }
  return out;
}

/** A rendered mail: the subject on one line, the HTML (null for plain-text mail) and the text. */
export interface RenderedMail {
  subject: string;
  html: string | null;
  text: string;
}

/** Renders the parts of a template set with the values of one mail. */
export function renderTemplateSet(set: TemplateSet, values: TemplateValues, opts: { plainText?: boolean; renderLimitMs?: number } = {}): RenderedMail {
  const plain = engineFor('plain', opts.renderLimitMs);
  return {
    // A subject is one line whatever a value holds: line breaks can never start a header.
    subject: renderPart(plain, 'subject', set.subject, values).replace(/[\s\u0085\u2028\u2029]+/g, ' ').trim(),
    html: opts.plainText ? null : renderPart(engineFor('html', opts.renderLimitMs), 'html', set.html, values),
    text: renderPart(plain, 'text', set.text, values),
  };
}
