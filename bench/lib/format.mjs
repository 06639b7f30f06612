// Markdown tables and number formats shared by the benchmark reports.

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fixed = (value, digits = 0) =>
  (value === null || value === undefined || Number.isNaN(value) ? '–' : Number(value).toFixed(digits));

export function ms(value) {
  if (value === null || value === undefined) return '–';
  if (value < 1) return `${(value * 1000).toFixed(0)} µs`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function bytes(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} MB`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} kB`;
  return `${value} B`;
}

export const met = (ok) => (ok ? '**met**' : '**not met**');

// Commands as a fenced block inside a <details>, so a report stays readable.
export function commandsBlock(commands, summary = 'exact commands') {
  const unique = [...new Set(commands)];
  return `<details><summary>${summary}</summary>\n\n\`\`\`sh\n${unique.join('\n')}\n\`\`\`\n\n</details>`;
}
