/**
 * One cell of a CSV file dialin writes (the `--report` of a group run, a script's Export-Csv). A cell that a spreadsheet
 * would read as a formula (it starts with = + - @, a tab or a carriage return) is neutralised as
 * OWASP recommends: a leading single quote makes it text, and the cell is quoted. A value like
 * `=HYPERLINK(...)` typed as a display name therefore shows as text and never runs.
 * `alwaysQuote`: every cell quoted, as PowerShell's Export-Csv writes them.
 */
export function csvCell(value: string, opts: { alwaysQuote?: boolean } = {}): string {
  const quoted = (v: string) => `"${v.replace(/"/g, '""')}"`;
  if (/^[=+\-@\t\r]/.test(value)) return quoted(`'${value}`);
  return opts.alwaysQuote || /[",\r\n]/.test(value) ? quoted(value) : value;
}

/** A CSV line (without its end of line) of the cells. */
export function csvLine(values: readonly string[]): string {
  return values.map((v) => csvCell(v)).join(',');
}
