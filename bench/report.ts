/** The value at quantile q (0–1) of the samples, nearest-rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The median of the samples. */
export const median = (samples: readonly number[]): number => quantile(samples, 0.5);

/** Milliseconds since `start` (a `performance.now()` reading). */
export const since = (start: number): number => performance.now() - start;

/** One line of the result table: a Warden figure next to its baseline; ratio = Warden rate ÷ baseline rate. */
export interface Row {
  readonly backend: string;
  readonly measure: string;
  readonly baseline: string;
  readonly warden: string;
  readonly ratio: number | undefined;
  /** The lowest acceptable ratio, if the measure has a target. */
  readonly target: number | undefined;
}

/** `1234567.8` → `1,234,568`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate with its unit, e.g. `52,311 ev/s`. */
export function rate(perSecond: number, unit: string): string {
  return `${count(perSecond)} ${unit}/s`;
}

/** A duration in milliseconds with three significant digits. */
export function ms(value: number): string {
  return `${value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

function verdict(row: Row): string {
  if (row.ratio === undefined) return '';
  if (row.target === undefined) return '(no target)';
  return `${row.ratio >= row.target ? 'meets' : 'MISSES'} ≥ ${row.target}`;
}

/** A Markdown table (readable as plain text, pasteable into docs/benchmarks.md); `right` columns align right. */
export function markdownTable(
  header: readonly string[],
  cells: readonly (readonly string[])[],
  right: readonly number[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) =>
    `| ${widths.map((w, i) => (right.includes(i) ? (c[i] ?? '').padStart(w) : (c[i] ?? '').padEnd(w))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

/** The result rows with their ratios and verdicts. */
export function resultTable(rows: readonly Row[]): string {
  return markdownTable(
    ['backend', 'measure', 'baseline', 'Warden', 'ratio', 'target'],
    rows.map((r) => [
      r.backend,
      r.measure,
      r.baseline,
      r.warden,
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
      verdict(r),
    ]),
    [2, 3, 4],
  );
}

/** Progress for the operator, on stderr so stdout carries only the results. */
export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}
