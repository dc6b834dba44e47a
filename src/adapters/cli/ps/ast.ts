/**
 * The tree of a PowerShell script, for the subset dialin runs. Every node carries the line and
 * column where it starts, so a runtime error names its place as the parser's refusals do.
 */
export interface Pos {
  line: number;
  col: number;
}

export type Expr =
  | ({ k: 'str'; v: string } & Pos)
  | ({ k: 'num'; v: number; text: string } & Pos)
  /** A bare word in command mode (kept as typed: -Pin 0123 stays "0123"). */
  | ({ k: 'bare'; v: string } & Pos)
  | ({ k: 'expand'; parts: (string | Expr)[] } & Pos)
  | ({ k: 'var'; name: string } & Pos)
  | ({ k: 'splat'; name: string } & Pos)
  | ({ k: 'member'; obj: Expr; name: string } & Pos)
  | ({ k: 'index'; obj: Expr; index: Expr } & Pos)
  | ({ k: 'method'; obj: Expr; name: string; args: Expr[] } & Pos)
  | ({ k: 'array'; items: Expr[] } & Pos)
  /** @( … ) and $( … ): statements whose output is the value. */
  | ({ k: 'sub'; body: Statement[]; asArray: boolean } & Pos)
  | ({ k: 'paren'; pipeline: Pipeline } & Pos)
  | ({ k: 'hash'; entries: [string, Expr][] } & Pos)
  /** `text`: the block as written, for a cmdlet's -Filter that reads it itself. */
  | ({ k: 'block'; body: Statement[]; text?: string } & Pos)
  | ({ k: 'unary'; op: string; arg: Expr } & Pos)
  | ({ k: 'binary'; op: string; left: Expr; right: Expr } & Pos);

export type Arg = ({ k: 'param'; name: string; value?: Expr } & Pos) | ({ k: 'value'; value: Expr } & Pos);

export type Command = ({ k: 'cmd'; name: string; args: Arg[] } & Pos) | ({ k: 'expr'; expr: Expr } & Pos);

export interface Pipeline extends Pos {
  k: 'pipeline';
  commands: Command[];
}

export type Statement =
  | Pipeline
  | ({ k: 'assign'; target: Expr; op: '=' | '+=' | '-='; value: Pipeline } & Pos)
  | ({ k: 'if'; branches: { cond: Pipeline; body: Statement[] }[]; otherwise: Statement[] | null } & Pos)
  | ({ k: 'foreach'; variable: string; source: Pipeline; body: Statement[] } & Pos)
  | ({ k: 'try'; body: Statement[]; handler: Statement[] | null; final: Statement[] | null } & Pos);

export interface Script {
  statements: Statement[];
  /** The source lines, for error messages that quote the failing line. */
  lines: string[];
}
