/** Renders rows as an aligned plain-text table for people (machine output is --json). */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>, maxCell = 80): string {
  const cells = rows.map((row) =>
    headers.map((_, i) => {
      const raw = row[i];
      const text = raw === null || raw === undefined ? '' : String(raw).replace(/\s+/g, ' ');
      return text.length > maxCell ? `${text.slice(0, maxCell - 1)}…` : text;
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
