import { AppError } from '../../../core/errors.ts';
import type { Arg, Command, Expr, Pipeline, Pos, Script, Statement } from './ast.ts';

/**
 * The reader of dialin's PowerShell subset: a hand-written recursive-descent parser that scans as
 * it goes. PowerShell's lexing depends on the mode (a word after a cmdlet name is a string, the
 * same word in an expression is an error; `-eq` is an operator there and a parameter here), so the
 * parser, which knows the mode, asks for the next token itself. The grammar decides what a token
 * is; anything outside the subset is refused with UNSUPPORTED_SYNTAX and its line and column,
 * before anything runs. See ARCHITECTURE.md ("The PowerShell reader").
 */
export function parseScript(text: string): Script {
  const src = text.replace(/^\uFEFF/, '');
  const p = new Parser(src);
  const statements = p.statements('');
  return { statements, lines: src.split(/\r?\n/) };
}

const UNSUPPORTED_KEYWORDS = new Set([
  'class', 'function', 'filter', 'workflow', 'while', 'do', 'for', 'switch', 'return', 'break', 'continue', 'throw', 'param',
  'begin', 'process', 'end', 'trap', 'using', 'data', 'enum', 'until', 'exit', 'dynamicparam', 'configuration', 'parallel', 'sequence', 'inlinescript', 'hidden', 'static',
]);

const COMPARISON = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'like', 'notlike', 'match', 'notmatch', 'contains', 'notcontains', 'in', 'notin'];
const COMPARE_OPS = new Set(COMPARISON.flatMap((o) => [o, `c${o}`, `i${o}`]));
const LOGIC_OPS = new Set(['and', 'or', 'xor']);
/** Operators of PowerShell that the subset leaves out, named in the refusal. */
const OTHER_OPS = new Set(['replace', 'creplace', 'ireplace', 'split', 'csplit', 'isplit', 'join', 'is', 'isnot', 'as', 'f', 'band', 'bor', 'bxor', 'bnot', 'shl', 'shr']);
/** Methods a value may be called with ($s.ToUpper()); others are refused before the script runs. */
export const METHODS = new Set(['tostring', 'toupper', 'tolower', 'trim', 'startswith', 'endswith', 'contains', 'replace', 'split', 'substring', 'adddays', 'addhours', 'addminutes']);

const WORD_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  // ——— positions and errors ———

  pos(at = this.i): Pos {
    let line = 1;
    let col = 1;
    for (let j = 0; j < at && j < this.s.length; j++) {
      if (this.s[j] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return { line, col };
  }

  fail(message: string, at = this.i): never {
    const { line, col } = this.pos(at);
    throw new AppError('UNSUPPORTED_SYNTAX', `line ${line}, column ${col}: ${message}`, { details: { line, column: col } });
  }

  ch(): string {
    return this.s[this.i] ?? '';
  }
  at(k: number): string {
    return this.s[this.i + k] ?? '';
  }
  eof(): boolean {
    return this.i >= this.s.length;
  }

  /** Skips blanks, comments and backtick line continuations; newlines too when `newlines`. */
  ws(newlines: boolean): void {
    for (;;) {
      const c = this.ch();
      if (c === ' ' || c === '\t' || c === '\f' || c === '\u00a0' || (c === '\r' && this.at(1) !== '\n' ? true : c === '\r' && newlines)) this.i++;
      else if (newlines && c === '\n') this.i++;
      else if (c === '`' && (this.at(1) === '\n' || (this.at(1) === '\r' && this.at(2) === '\n'))) this.i += this.at(1) === '\r' ? 3 : 2;
      else if (c === '#') {
        while (!this.eof() && this.ch() !== '\n') this.i++;
      } else if (c === '<' && this.at(1) === '#') {
        const end = this.s.indexOf('#>', this.i + 2);
        if (end < 0) this.fail('the block comment <# … is not closed with #>');
        this.i = end + 2;
      } else if (c === '\r' && this.at(1) === '\n' && !newlines) return;
      else return;
    }
  }

  expect(ch: string, what: string): void {
    if (this.ch() !== ch) this.fail(`expected '${ch}' ${what}${this.eof() ? ', found the end of the script' : `, found '${this.ch()}'`}`);
    this.i++;
  }

  /** A keyword at the current position (case-insensitive, not followed by a name character). */
  keyword(): string | null {
    const m = /^[A-Za-z]+/.exec(this.s.slice(this.i, this.i + 40));
    if (!m) return null;
    const next = this.s[this.i + m[0].length] ?? '';
    if (/[A-Za-z0-9_\-.:]/.test(next)) return null;
    return m[0].toLowerCase();
  }

  // ——— statements ———

  /** Statements up to `end` ('' = end of script, '}' or ')'), which is left for the caller. */
  statements(end: '' | '}' | ')'): Statement[] {
    const out: Statement[] = [];
    for (;;) {
      this.ws(true);
      while (this.ch() === ';') {
        this.i++;
        this.ws(true);
      }
      if (this.eof()) {
        if (end !== '') this.fail(`expected '${end}' before the end of the script`);
        return out;
      }
      if (this.ch() === end) return out;
      if (this.ch() === '}' || this.ch() === ')') this.fail(`unexpected '${this.ch()}'`);
      out.push(this.statement());
      this.ws(false);
      if (!this.eof() && this.ch() !== '\n' && this.ch() !== '\r' && this.ch() !== ';' && this.ch() !== end) {
        this.fail(this.ch() === '>' ? 'redirection (>) is not supported: use Out-File or Export-Csv' : `unexpected '${this.ch()}' after the statement`);
      }
    }
  }

  statement(): Statement {
    const start = this.i;
    const kw = this.keyword();
    if (kw && UNSUPPORTED_KEYWORDS.has(kw)) this.fail(`the '${kw}' keyword is not supported`);
    if (kw === 'if') return this.ifStatement();
    if (kw === 'try') return this.tryStatement();
    if (kw === 'foreach') {
      const save = this.i;
      this.i += 7;
      this.ws(false);
      if (this.ch() === '(') return this.foreachStatement(start);
      this.i = save;
    }
    if (kw === 'elseif' || kw === 'else') this.fail(`'${kw}' without an if before it`);
    if (kw === 'catch' || kw === 'finally') this.fail(`'${kw}' without a try before it`);
    if (this.ch() === '$' && this.at(1) !== '(') {
      const target = this.postfix();
      this.ws(false);
      const op = this.ch() === '=' ? '=' : (this.ch() === '+' || this.ch() === '-') && this.at(1) === '=' ? (`${this.ch()}=` as '+=' | '-=') : null;
      if (op && this.at(op.length) !== '=') {
        if (target.k !== 'var' && target.k !== 'member') this.fail('only a variable or a property ($x.Name) can be assigned to', start);
        if (target.k === 'var' && /^(_|psitem|true|false|null)$/i.test(target.name)) this.fail(`$${target.name} cannot be assigned to`, start);
        this.i += op.length;
        this.ws(true);
        return { k: 'assign', target, op, value: this.pipeline(), ...this.pos(start) };
      }
      this.i = start;
    }
    return this.pipeline();
  }

  block(what: string): Statement[] {
    this.ws(true);
    this.expect('{', what);
    const body = this.statements('}');
    this.i++;
    return body;
  }

  condition(what: string): Pipeline {
    this.ws(false);
    this.expect('(', what);
    this.ws(true);
    const cond = this.pipeline();
    this.ws(true);
    this.expect(')', `to close the condition of ${what.replace(/^after /, '')}`);
    return cond;
  }

  ifStatement(): Statement {
    const start = this.pos();
    this.i += 2;
    const branches = [{ cond: this.condition("after 'if'"), body: this.block("for the body of 'if'") }];
    let otherwise: Statement[] | null = null;
    for (;;) {
      const save = this.i;
      this.ws(true);
      const kw = this.keyword();
      if (kw === 'elseif') {
        this.i += 6;
        branches.push({ cond: this.condition("after 'elseif'"), body: this.block("for the body of 'elseif'") });
        continue;
      }
      if (kw === 'else') {
        this.i += 4;
        this.ws(true);
        if (this.keyword() === 'if') this.fail("'else if' is written 'elseif' in PowerShell");
        otherwise = this.block("for the body of 'else'");
      } else this.i = save;
      break;
    }
    return { k: 'if', branches, otherwise, ...start };
  }

  foreachStatement(start: number): Statement {
    this.expect('(', "after 'foreach'");
    this.ws(true);
    if (this.ch() !== '$') this.fail("foreach needs a variable: foreach ($item in $list) { … }");
    const v = this.primary();
    if (v.k !== 'var') this.fail("foreach needs a variable: foreach ($item in $list) { … }");
    this.ws(true);
    if (this.keyword() !== 'in') this.fail("expected 'in' in foreach ($item in $list)");
    this.i += 2;
    this.ws(true);
    const source = this.pipeline();
    this.ws(true);
    this.expect(')', 'to close foreach ( … )');
    return { k: 'foreach', variable: v.name, source, body: this.block("for the body of 'foreach'"), ...this.pos(start) };
  }

  tryStatement(): Statement {
    const start = this.pos();
    this.i += 3;
    const body = this.block("after 'try'");
    let handler: Statement[] | null = null;
    let final: Statement[] | null = null;
    const save = this.i;
    this.ws(true);
    if (this.keyword() === 'catch') {
      this.i += 5;
      this.ws(false);
      if (this.ch() === '[') this.fail('catch with an exception type (catch [Type]) is not supported: use catch { … }');
      handler = this.block("after 'catch'");
    } else this.i = save;
    const save2 = this.i;
    this.ws(true);
    if (this.keyword() === 'finally') {
      this.i += 7;
      final = this.block("after 'finally'");
    } else this.i = save2;
    if (!handler && !final) this.fail("'try' needs a catch { … } or finally { … } block");
    return { k: 'try', body, handler, final, ...start };
  }

  // ——— pipelines and commands ———

  pipeline(): Pipeline {
    this.ws(false);
    const start = this.pos();
    const commands: Command[] = [this.command()];
    for (;;) {
      this.ws(false);
      if (this.ch() === '|' && this.at(1) !== '|') {
        this.i++;
        this.ws(true);
        if (this.eof() || this.ch() === '}' || this.ch() === ')' || this.ch() === ';') this.fail('the pipeline ends with a | and nothing after it');
        const at = this.i;
        const cmd = this.command();
        if (cmd.k === 'expr') this.fail('an expression can only be the first element of a pipeline (after | comes a command)', at);
        commands.push(cmd);
        continue;
      }
      if (this.ch() === '|' || (this.ch() === '&' && this.at(1) === '&')) this.fail(`the '${this.ch()}${this.at(1)}' pipeline chain operator is not supported: use if or separate lines`);
      return { k: 'pipeline', commands, ...start };
    }
  }

  command(): Command {
    this.ws(false);
    const start = this.i;
    const c = this.ch();
    if (c === '&') this.fail('the call operator & is not supported');
    if (c === '.' && /[\s'"$]/.test(this.at(1))) this.fail('dot-sourcing (. FILE) is not supported');
    if (WORD_START.test(c) || ((c === '?' || c === '%') && /[\s{]/.test(this.at(1)))) {
      const kw = this.keyword();
      if (kw && UNSUPPORTED_KEYWORDS.has(kw)) this.fail(`the '${kw}' keyword is not supported`);
      if (kw === 'if' || kw === 'try' || (kw === 'foreach' && /^foreach\s*\(/i.test(this.s.slice(this.i, this.i + 20)))) this.fail(`'${kw}' cannot be used inside a pipeline`);
      let name = '';
      while (!this.eof() && /[A-Za-z0-9_\-.?%]/.test(this.ch())) name += this.s[this.i++];
      if (this.ch() === ':' && this.at(1) === ':') this.fail('static members (::) are not supported');
      if (this.ch() === '(' ) this.fail(`'${name}(' looks like a function call, which PowerShell does not have: write ${name} -Param value`);
      const args: Arg[] = [];
      for (;;) {
        this.ws(false);
        const ch = this.ch();
        if (this.eof() || ch === '\n' || ch === '\r' || ch === ';' || ch === '|' || ch === ')' || ch === '}') break;
        if (ch === '>' || ch === '<' || (/[0-9*]/.test(ch) && this.at(1) === '>')) this.fail('redirection (>, 2>&1) is not supported: use Out-File or Export-Csv');
        if (ch === '&' && this.at(1) === '&') this.fail("the '&&' pipeline chain operator is not supported: use if or separate lines");
        if (ch === '&') this.fail('the & operator is not supported');
        if (ch === '-' && /[A-Za-z_?]/.test(this.at(1))) {
          const ps = this.i;
          this.i++;
          let pname = '';
          while (!this.eof() && /[A-Za-z0-9_?]/.test(this.ch())) pname += this.s[this.i++];
          if (this.ch() === ':' ) {
            this.i++;
            args.push({ k: 'param', name: pname, value: this.argument(), ...this.pos(ps) });
          } else if (this.ch() === '' || /[\s;|)}]/.test(this.ch())) args.push({ k: 'param', name: pname, ...this.pos(ps) });
          else this.fail(`'${this.s.slice(ps, this.i + 1)}' is not a parameter name`, ps);
          continue;
        }
        if (ch === '-' && this.at(1) === '-' && /[A-Za-z]/.test(this.at(2))) {
          // dialin's own options (--json, --tenant X) keep working on script lines.
          const ps = this.i;
          while (!this.eof() && /[A-Za-z0-9\-]/.test(this.ch())) this.i++;
          args.push({ k: 'param', name: this.s.slice(ps + 1, this.i), ...this.pos(ps) });
          continue;
        }
        const ps = this.i;
        args.push({ k: 'value', value: this.argument(), ...this.pos(ps) });
      }
      return { k: 'cmd', name, args, ...this.pos(start) };
    }
    return { k: 'expr', expr: this.expression(), ...this.pos(start) };
  }

  /** One argument in command mode, with a comma list (-SecondaryLanguages en-us, ja-jp). */
  argument(): Expr {
    return this.commaList(() => this.argumentItem());
  }

  /** `item` or `item, item, …` (a comma may end a line): one item, or an array of them. */
  commaList(item: () => Expr): Expr {
    const start = this.pos();
    const items = [item()];
    for (;;) {
      const save = this.i;
      this.ws(false);
      if (this.ch() !== ',') {
        this.i = save;
        break;
      }
      this.i++;
      this.ws(true);
      items.push(item());
    }
    return items.length === 1 ? items[0]! : { k: 'array', items, ...start };
  }

  argumentItem(): Expr {
    const c = this.ch();
    const start = this.i;
    // dialin's -Identity @FILE (a file of users) is not a splat: a path has a dot or a slash.
    if (c === '@' && /^@[A-Za-z0-9_\-]*[./\\][^\s|;,(){}]*/.test(this.s.slice(this.i, this.i + 300))) {
      const m = /^@[^\s|;,(){}"'<>&]+/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      return { k: 'bare', v: m[0], ...this.pos(start) };
    }
    if (c === '$' || c === '"' || c === "'" || c === '(' || c === '@' || c === '{') return this.postfix();
    if (c === '[') this.fail('type literals and casts ([int], [datetime]…) are not supported');
    if (c === ',' ) this.fail('a comma with no value before it');
    let v = '';
    while (!this.eof() && !/[\s|;,(){}"'<>&]/.test(this.ch())) {
      if (this.ch() === '`') {
        this.i++;
        if (this.eof()) this.fail('a backtick at the end of the script');
      }
      v += this.s[this.i++];
    }
    if (v === '') this.fail(`unexpected '${this.ch()}'`);
    return { k: 'bare', v, ...this.pos(start) };
  }

  // ——— expressions ———

  expression(): Expr {
    return this.logical();
  }

  /** An operator word (-eq, -and…) at the current position, or null; does not consume. */
  opWord(): string | null {
    if (this.ch() !== '-') return null;
    const m = /^-([A-Za-z]+)/.exec(this.s.slice(this.i, this.i + 20));
    return m ? m[1]!.toLowerCase() : null;
  }

  logical(): Expr {
    let left = this.comparison();
    for (;;) {
      const save = this.i;
      this.ws(false);
      const op = this.opWord();
      if (!op || !LOGIC_OPS.has(op)) {
        this.i = save;
        return left;
      }
      const p = this.pos();
      this.i += op.length + 1;
      this.ws(true);
      left = { k: 'binary', op, left, right: this.comparison(), ...p };
    }
  }

  comparison(): Expr {
    let left = this.additive();
    for (;;) {
      const save = this.i;
      this.ws(false);
      const op = this.opWord();
      if (op && OTHER_OPS.has(op)) this.fail(`the -${op} operator is not supported`);
      if (!op || !COMPARE_OPS.has(op)) {
        if (op && !LOGIC_OPS.has(op) && op !== 'not') this.fail(`-${op} is not an operator of the supported subset`);
        this.i = save;
        return left;
      }
      const p = this.pos();
      this.i += op.length + 1;
      this.ws(true);
      left = { k: 'binary', op, left, right: this.additive(), ...p };
    }
  }

  additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const save = this.i;
      this.ws(false);
      const c = this.ch();
      if ((c === '+' || c === '-') && !/[A-Za-z=]/.test(this.at(1)) && this.at(1) !== c) {
        const p = this.pos();
        this.i++;
        this.ws(true);
        left = { k: 'binary', op: c, left, right: this.multiplicative(), ...p };
        continue;
      }
      if ((c === '+' || c === '-') && this.at(1) === c) this.fail(`the ${c}${c} operator is not supported: write $x = $x ${c} 1`);
      this.i = save;
      return left;
    }
  }

  multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const save = this.i;
      this.ws(false);
      const c = this.ch();
      if ((c === '*' || c === '/' || c === '%') && this.at(1) !== '=') {
        const p = this.pos();
        this.i++;
        this.ws(true);
        left = { k: 'binary', op: c, left, right: this.unary(), ...p };
        continue;
      }
      if (c === '.' && this.at(1) === '.') this.fail('the range operator .. is not supported');
      this.i = save;
      return left;
    }
  }

  unary(): Expr {
    const p = this.pos();
    if (this.ch() === '!') {
      this.i++;
      this.ws(false);
      return { k: 'unary', op: 'not', arg: this.unary(), ...p };
    }
    const op = this.opWord();
    if (op === 'not') {
      this.i += 4;
      this.ws(true);
      return { k: 'unary', op: 'not', arg: this.unary(), ...p };
    }
    if (op && OTHER_OPS.has(op)) this.fail(`the -${op} operator is not supported`);
    if (this.ch() === '-' && /[0-9.$(]/.test(this.at(1))) {
      this.i++;
      return { k: 'unary', op: '-', arg: this.unary(), ...p };
    }
    return this.arrayLiteral();
  }

  arrayLiteral(): Expr {
    return this.commaList(() => this.postfix());
  }

  postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.ch() === '.' && WORD_START.test(this.at(1))) {
        const p = this.pos();
        this.i++;
        let name = '';
        while (!this.eof() && NAME_CHAR.test(this.ch())) name += this.s[this.i++];
        if (this.ch() === '(') {
          if (!METHODS.has(name.toLowerCase())) this.fail(`the method .${name}() is not supported`, this.i - name.length - 1);
          this.i++;
          const args: Expr[] = [];
          this.ws(true);
          while (this.ch() !== ')') {
            args.push(this.comparison());
            this.ws(true);
            if (this.ch() === ',') {
              this.i++;
              this.ws(true);
            } else if (this.ch() !== ')') this.fail(`expected ',' or ')' in the arguments of .${name}()`);
          }
          this.i++;
          e = { k: 'method', obj: e, name, args, ...p };
        } else e = { k: 'member', obj: e, name, ...p };
        continue;
      }
      if (this.ch() === ':' && this.at(1) === ':') this.fail('static members (::) are not supported');
      if (this.ch() === '[') {
        const p = this.pos();
        this.i++;
        this.ws(true);
        const index = this.expression();
        this.ws(true);
        this.expect(']', 'to close the index');
        e = { k: 'index', obj: e, index, ...p };
        continue;
      }
      return e;
    }
  }

  primary(): Expr {
    const start = this.i;
    const p = this.pos();
    const c = this.ch();
    if (c === '$') {
      if (this.at(1) === '(') {
        this.i += 2;
        const body = this.statements(')');
        this.i++;
        return { k: 'sub', body, asArray: false, ...p };
      }
      if (this.at(1) === '{') {
        const end = this.s.indexOf('}', this.i);
        if (end < 0) this.fail('${… is not closed');
        const name = this.s.slice(this.i + 2, end);
        this.i = end + 1;
        return { k: 'var', name, ...p };
      }
      this.i++;
      let name = '';
      if (this.ch() === '_' || this.ch() === '?' || this.ch() === '^') name = this.s[this.i++]!;
      while (!this.eof() && NAME_CHAR.test(this.ch())) name += this.s[this.i++];
      if (this.ch() === ':' && /[A-Za-z]/.test(this.at(1)) && name !== '') {
        const scope = name.toLowerCase();
        if (scope === 'env') this.fail('environment variables ($env:…) are not supported', start);
        if (scope !== 'script' && scope !== 'global' && scope !== 'local') this.fail(`the variable scope ${name}: is not supported`, start);
        this.i++;
        name = '';
        while (!this.eof() && NAME_CHAR.test(this.ch())) name += this.s[this.i++];
      }
      if (name === '') this.fail("a '$' with no variable name after it", start);
      if (name === '?' || name === '^') this.fail(`the automatic variable $${name} is not supported`, start);
      return { k: 'var', name, ...p };
    }
    if (c === "'") return { k: 'str', v: this.singleQuoted(), ...p };
    if (c === '"') return this.doubleQuoted();
    if (c === '@') {
      const n = this.at(1);
      if (n === '(') {
        this.i += 2;
        const body = this.statements(')');
        this.i++;
        return { k: 'sub', body, asArray: true, ...p };
      }
      if (n === '{') return this.hashtable();
      if (n === '"' || n === "'") this.fail('here-strings (@" … "@) are not supported');
      if (/[A-Za-z_]/.test(n)) {
        this.i++;
        let name = '';
        while (!this.eof() && NAME_CHAR.test(this.ch())) name += this.s[this.i++];
        return { k: 'splat', name, ...p };
      }
      this.fail("'@' must start @( … ), @{ … } or a splat @name");
    }
    if (c === '(') {
      this.i++;
      this.ws(true);
      if (this.ch() === ')') this.fail('empty parentheses ()');
      const pipeline = this.pipeline();
      this.ws(true);
      this.expect(')', 'to close ( … )');
      return { k: 'paren', pipeline, ...p };
    }
    if (c === '{') {
      this.i++;
      const body = this.statements('}');
      this.i++;
      return { k: 'block', body, text: this.s.slice(start, this.i), ...p };
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(this.at(1)))) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?)(kb|mb|gb)?/i.exec(this.s.slice(this.i, this.i + 60))!;
      this.i += m[0].length;
      if (NAME_CHAR.test(this.ch())) this.fail(`'${m[0]}${this.ch()}…' is not a number`, start);
      const mult = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[3] ?? '').toLowerCase() as 'kb'] ?? 1;
      return { k: 'num', v: Number(m[1]) * mult, text: m[0], ...p };
    }
    if (c === '[') this.fail('type literals and casts ([int], [datetime]…) are not supported');
    if (this.eof()) this.fail('expected a value, found the end of the script');
    if (WORD_START.test(c)) this.fail(`a bare word in an expression: quote it ('${/^[A-Za-z0-9_\-.]+/.exec(this.s.slice(this.i))?.[0]}') or wrap a command in ( … )`);
    this.fail(`unexpected '${c}'`);
  }

  singleQuoted(): string {
    const start = this.i;
    this.i++;
    let v = '';
    for (;;) {
      if (this.eof()) this.fail('the string is not closed', start);
      const ch = this.s[this.i]!;
      if (ch === "'" || ch === '\u2018' || ch === '\u2019') {
        if (this.at(1) === "'") {
          v += "'";
          this.i += 2;
          continue;
        }
        this.i++;
        return v;
      }
      v += ch;
      this.i++;
    }
  }

  doubleQuoted(): Expr {
    const start = this.i;
    const p = this.pos();
    this.i++;
    const parts: (string | Expr)[] = [];
    let lit = '';
    const flush = () => {
      if (lit) parts.push(lit);
      lit = '';
    };
    for (;;) {
      if (this.eof()) this.fail('the string is not closed', start);
      const ch = this.s[this.i]!;
      if (ch === '`') {
        const n = this.at(1);
        if (n === '') this.fail('the string is not closed', start);
        lit += ({ n: '\n', r: '\r', t: '\t', '0': '\0', a: '\u0007', b: '\b', e: '\u001b', f: '\f', v: '\v' } as Record<string, string>)[n] ?? n;
        this.i += 2;
        continue;
      }
      if (ch === '"') {
        if (this.at(1) === '"') {
          lit += '"';
          this.i += 2;
          continue;
        }
        this.i++;
        break;
      }
      if (ch === '$' && (this.at(1) === '(' || this.at(1) === '{' || /[A-Za-z_]/.test(this.at(1)))) {
        flush();
        if (this.at(1) === '(') {
          const sp = this.pos();
          this.i += 2;
          const body = this.statements(')');
          this.i++;
          parts.push({ k: 'sub', body, asArray: false, ...sp });
        } else parts.push(this.primary());
        continue;
      }
      lit += ch;
      this.i++;
    }
    flush();
    if (parts.every((x) => typeof x === 'string')) return { k: 'str', v: parts.join(''), ...p };
    return { k: 'expand', parts, ...p };
  }

  hashtable(): Expr {
    const p = this.pos();
    this.i += 2;
    const entries: [string, Expr][] = [];
    for (;;) {
      this.ws(true);
      while (this.ch() === ';') {
        this.i++;
        this.ws(true);
      }
      if (this.ch() === '}') {
        this.i++;
        return { k: 'hash', entries, ...p };
      }
      if (this.eof()) this.fail("the hashtable @{ … is not closed with '}'");
      let key: string;
      if (this.ch() === "'") key = this.singleQuoted();
      else if (this.ch() === '"') {
        const e = this.doubleQuoted();
        if (e.k !== 'str') this.fail('a hashtable key must be a plain name or string');
        key = e.v;
      } else {
        key = '';
        while (!this.eof() && /[A-Za-z0-9_\-]/.test(this.ch())) key += this.s[this.i++];
        if (key === '') this.fail(`expected a key name in @{ … }, found '${this.ch()}'`);
      }
      this.ws(false);
      this.expect('=', `after the key ${key} in @{ … }`);
      this.ws(true);
      const vp = this.pos();
      const pipe = this.pipeline();
      entries.push([key, pipe.commands.length === 1 && pipe.commands[0]!.k === 'expr' ? pipe.commands[0]!.expr : { k: 'paren', pipeline: pipe, ...vp }]);
      this.ws(false);
      if (this.eof()) this.fail("the hashtable @{ … is not closed with '}'");
      if (this.ch() !== ';' && this.ch() !== '\n' && this.ch() !== '\r' && this.ch() !== '}') this.fail(`expected ';', a new line or '}' after the value of ${key}`);
    }
  }
}
