/** Two small SVG charts written by hand (no browser, no dependency): a line chart and a heatmap. */

const esc = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

export interface Series {
  name: string;
  points: [number, number][];
}

export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const W = 560, H = 360, L = 60, R = 140, T = 40, B = 50;
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const [x0, x1] = all.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = all.length ? [Math.min(0, ...ys), Math.max(...ys, 1e-9)] : [0, 1];
  const px = (x: number) => L + (x1 === x0 ? (W - L - R) / 2 : ((x - x0) / (x1 - x0)) * (W - L - R));
  const py = (y: number) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(options.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(options.title)}</text>`,
    `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
    ...[...new Set(xs)].map((x) => `<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${fmt(x)}</text>`),
    ...[y0, (y0 + y1) / 2, y1].map((y) => `<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`),
  ];
  if (all.length === 0) parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="gray">no runs yet</text>`);
  options.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    parts.push(`<polyline class="series" data-name="${esc(s.name)}" fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x)},${py(y)}`).join(" ")}"/>`);
    parts.push(...pts.map(([x, y]) => `<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"><title>${esc(s.name)}: ${fmt(x)} → ${fmt(y)}</title></circle>`));
    parts.push(`<text x="${W - R + 10}" y="${T + 16 * i + 10}" fill="${color}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** A square matrix of values in [0, 1], darker for higher, with the value in each cell. */
export function heatmap(options: { title: string; labels: string[]; matrix: number[][] }): string {
  const n = options.labels.length, cell = Math.max(18, Math.min(40, Math.floor(480 / Math.max(n, 1))));
  const L = 110, T = 50;
  const W = L + n * cell + 20, H = T + n * cell + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`,
    `<title>${esc(options.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(options.title)}</text>`,
  ];
  if (n === 0) parts.push(`<text x="${W / 2}" y="${T}" text-anchor="middle" fill="gray">no personas yet</text>`);
  options.labels.forEach((label, i) => {
    parts.push(`<text x="${L - 4}" y="${T + i * cell + cell / 2 + 3}" text-anchor="end">${esc(label)}</text>`);
    parts.push(`<text transform="translate(${L + i * cell + cell / 2} ${T - 4}) rotate(-45)">${esc(label)}</text>`);
  });
  options.matrix.forEach((row, i) =>
    row.forEach((v, j) => {
      const shade = Math.round(255 - v * 200);
      parts.push(`<rect class="cell" x="${L + j * cell}" y="${T + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)"><title>${esc(options.labels[i]!)} × ${esc(options.labels[j]!)}: ${v.toFixed(3)}</title></rect>`);
      if (cell >= 28) parts.push(`<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 3}" text-anchor="middle">${v.toFixed(2)}</text>`);
    }),
  );
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
