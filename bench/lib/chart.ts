/**
 * A small grouped bar chart as standalone SVG, so benchmark results can be
 * looked at (README, CI artifacts) without a plotting stack.
 */
export interface BarGroup {
  label: string;
  bars: Array<{ series: string; value: number }>;
}

const COLOURS = ["#6366f1", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#a855f7"];

function escape(text: string) {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

export function barChart(options: { title: string; unit: string; groups: BarGroup[] }): string {
  const series = [...new Set(options.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const max = Math.max(...options.groups.flatMap((g) => g.bars.map((b) => b.value)), 1);
  const barWidth = 26;
  const groupGap = 36;
  const left = 60;
  const top = 40;
  const height = 220;
  const groupWidth = series.length * barWidth + groupGap;
  const width = left + options.groups.length * groupWidth + 20;
  const legendY = top + height + 48;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${legendY + 20 * series.length + 10}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${escape(options.title)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (max * i) / 4;
    const y = top + height - (height * i) / 4;
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#e4e4e7"/>`,
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#52525b">${value < 10 ? value.toFixed(1) : Math.round(value)}</text>`,
    );
  }
  parts.push(
    `<text x="12" y="${top + height / 2}" transform="rotate(-90 12 ${top + height / 2})" text-anchor="middle" fill="#52525b">${escape(options.unit)}</text>`,
  );
  options.groups.forEach((group, g) => {
    const x0 = left + 10 + g * groupWidth;
    group.bars.forEach((bar) => {
      const s = series.indexOf(bar.series);
      const h = (height * bar.value) / max;
      const x = x0 + s * barWidth;
      parts.push(
        `<rect x="${x}" y="${top + height - h}" width="${barWidth - 4}" height="${h}" fill="${COLOURS[s % COLOURS.length]}"><title>${escape(`${bar.series}: ${bar.value.toFixed(2)} ${options.unit}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${x0 + (series.length * barWidth) / 2}" y="${top + height + 18}" text-anchor="middle">${escape(group.label)}</text>`,
    );
  });
  series.forEach((name, s) => {
    parts.push(
      `<rect x="${left}" y="${legendY + s * 20 - 10}" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/>`,
      `<text x="${left + 18}" y="${legendY + s * 20}">${escape(name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}
