/**
 * The tables the benchmarks print: Markdown, every cell right-aligned (the README quotes them as
 * printed).
 * @param {string | null} title printed above the table with a blank line either side, or null
 * @param {string[]} header
 * @param {(string|number)[][]} rows
 */
export function printTable(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padStart(widths[i])).join(' | ') + ' |';
  if (title !== null) console.log(`\n${title}\n`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}
