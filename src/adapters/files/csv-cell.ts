/**
 * One cell of a CSV file dialin writes (the `--report` of a group run). A cell that a spreadsheet
 * would read as a formula (it starts with = + - @, a tab or a carriage return) is neutralised as
 * OWASP recommends: a leading single quote makes it text, and the cell is quoted. A value like
 * `=HYPERLINK(...)` typed as a display name therefore shows as text and never runs.
 */
export function csvCell(value: string): string {
  if (/^[=+\-@\t\r]/.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A CSV line (without its end of line) of the cells. */
export function csvLine(values: readonly string[]): string {
  return values.map(csvCell).join(',');
}
