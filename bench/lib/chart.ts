/**
 * A small grouped bar chart as standalone SVG, so benchmark results can be
 * looked at (README, CI artifacts) without a plotting stack.
 */
export interface BarGroup {
  label: string;
  bars: Array<{ series: string; value: number }>;
  /** Drawn as a dashed line across the group, e.g. a benchmark's target. */
  target?: number;
}

const COLOURS = ["#6366f1", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#a855f7"];

function escape(text: string) {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

export function barChart(options: {
  title: string;
  unit: string;
  groups: BarGroup[];
  /** "log" (base 10) when values span orders of magnitude; default linear. */
  scale?: "linear" | "log";
}): string {
  const series = [...new Set(options.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const values = options.groups.flatMap((g) => [...g.bars.map((b) => b.value), g.target ?? 0]);
  const max = Math.max(...values, 1);
  const log = options.scale === "log";
  // Log scale: whole decades from the smallest value's (at least 0.1) to the largest's.
  const logMin = Math.floor(
    Math.log10(Math.max(Math.min(...values.filter((v) => v > 0), max), 0.1)),
  );
  const logMax = Math.max(Math.ceil(Math.log10(max)), logMin + 1);
  const fraction = (value: number) =>
    log
      ? Math.min(
          Math.max((Math.log10(Math.max(value, 10 ** logMin)) - logMin) / (logMax - logMin), 0),
          1,
        )
      : value / max;
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
  const ticks = log
    ? Array.from({ length: logMax - logMin + 1 }, (_, i) => 10 ** (logMin + i))
    : [0, 1, 2, 3, 4].map((i) => (max * i) / 4);
  for (const value of ticks) {
    const y = top + height - height * fraction(value);
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#e4e4e7"/>`,
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#52525b">${value < 10 ? value.toFixed(1) : Math.round(value)}</text>`,
    );
  }
  parts.push(
    `<text x="12" y="${top + height / 2}" transform="rotate(-90 12 ${top + height / 2})" text-anchor="middle" fill="#52525b">${escape(log ? `${options.unit} (log scale)` : options.unit)}</text>`,
  );
  options.groups.forEach((group, g) => {
    const x0 = left + 10 + g * groupWidth;
    group.bars.forEach((bar) => {
      const s = series.indexOf(bar.series);
      const h = height * fraction(bar.value);
      const x = x0 + s * barWidth;
      parts.push(
        `<rect x="${x}" y="${top + height - h}" width="${barWidth - 4}" height="${h}" fill="${COLOURS[s % COLOURS.length]}"><title>${escape(`${bar.series}: ${bar.value.toFixed(2)} ${options.unit}`)}</title></rect>`,
      );
    });
    if (group.target !== undefined) {
      const y = top + height - height * fraction(group.target);
      parts.push(
        `<line x1="${x0 - 6}" x2="${x0 + series.length * barWidth + 2}" y1="${y}" y2="${y}" stroke="#18181b" stroke-dasharray="4 3"><title>${escape(`target: ${group.target} ${options.unit}`)}</title></line>`,
      );
    }
    parts.push(
      `<text x="${x0 + (series.length * barWidth) / 2}" y="${top + height + 18}" text-anchor="middle">${escape(group.label)}</text>`,
    );
  });
  parts.push(...legend(series, left, legendY), "</svg>");
  return parts.join("\n");
}

/** One swatch and name per series, a row each, in the series' colours (by position). */
function legend(names: readonly string[], x: number, y: number): string[] {
  return names.flatMap((name, s) => [
    `<rect x="${x}" y="${y + s * 20 - 10}" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/>`,
    `<text x="${x + 18}" y="${y + s * 20}">${escape(name)}</text>`,
  ]);
}

export interface TimeSeriesPanel {
  unit: string;
  series: Array<{ name: string; points: Array<[x: number, y: number]> }>;
}

/**
 * Panels of lines over one shared time axis, stacked (e.g. memory above,
 * throughput below), with an optional shaded span such as a warm-up.
 */
export function timeSeriesChart(options: {
  title: string;
  xUnit: string;
  panels: TimeSeriesPanel[];
  shade?: { from: number; to: number; label: string };
}): string {
  const left = 70;
  const top = 40;
  const plotWidth = 640;
  const panelHeight = 170;
  const panelGap = 56;
  const xs = options.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMax = Math.max(...xs, 1);
  const xAt = (x: number) => left + (plotWidth * x) / xMax;
  const names = [...new Set(options.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name: string) => COLOURS[names.indexOf(name) % COLOURS.length]!;
  const panelsBottom = top + options.panels.length * (panelHeight + panelGap);
  const width = left + plotWidth + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${panelsBottom + 20 * names.length + 10}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${escape(options.title)}</text>`,
  ];
  options.panels.forEach((panel, p) => {
    const y0 = top + p * (panelHeight + panelGap);
    const yMax = Math.max(...panel.series.flatMap((s) => s.points.map(([, y]) => y)), 1) * 1.1;
    const yAt = (y: number) => y0 + panelHeight - (panelHeight * y) / yMax;
    if (options.shade) {
      const { from, to, label } = options.shade;
      parts.push(
        `<rect x="${xAt(from)}" y="${y0}" width="${xAt(to) - xAt(from)}" height="${panelHeight}" fill="#f4f4f5"/>`,
        `<text x="${(xAt(from) + xAt(to)) / 2}" y="${y0 + 14}" text-anchor="middle" fill="#71717a">${escape(label)}</text>`,
      );
    }
    for (const value of [0, 1, 2, 3, 4].map((i) => (yMax * i) / 4)) {
      parts.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${yAt(value)}" y2="${yAt(value)}" stroke="#e4e4e7"/>`,
        `<text x="${left - 6}" y="${yAt(value) + 4}" text-anchor="end" fill="#52525b">${value < 10 ? value.toFixed(1) : Math.round(value)}</text>`,
      );
    }
    for (const value of [0, 1, 2, 3, 4, 5].map((i) => (xMax * i) / 5)) {
      parts.push(
        `<text x="${xAt(value)}" y="${y0 + panelHeight + 16}" text-anchor="middle" fill="#52525b">${Math.round(value)}</text>`,
      );
    }
    parts.push(
      `<text x="14" y="${y0 + panelHeight / 2}" transform="rotate(-90 14 ${y0 + panelHeight / 2})" text-anchor="middle" fill="#52525b">${escape(panel.unit)}</text>`,
      `<text x="${left + plotWidth}" y="${y0 + panelHeight + 30}" text-anchor="end" fill="#52525b">${escape(options.xUnit)}</text>`,
    );
    for (const series of panel.series) {
      const path = series.points.map(([x, y]) => `${xAt(x).toFixed(1)},${yAt(y).toFixed(1)}`);
      parts.push(
        `<polyline points="${path.join(" ")}" fill="none" stroke="${colour(series.name)}" stroke-width="2"><title>${escape(series.name)}</title></polyline>`,
      );
    }
  });
  parts.push(...legend(names, left, panelsBottom), "</svg>");
  return parts.join("\n");
}
