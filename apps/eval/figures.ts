/**
 * The report's figures as Vega-Lite specifications, rendered in Node without a browser: Vega
 * draws SVG headlessly (renderer "none" + toSVG), resvg rasterizes that SVG to PNG (node-canvas,
 * Vega's own PNG path, needs cairo headers that are not installed here).
 * Figure 3 (test-time scaling), Figure 4 (base models), Figure 2 (t-SNE map of final personas)
 * and Figure 5 (Jaccard similarity of final personas) of the paper.
 */
import { Resvg } from "@resvg/resvg-js";
import { TSNE } from "@saehrimnir/druidjs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const FONT = "DejaVu Sans";
/** Shared look: readable labels, gridlines, white background. */
const CONFIG = {
  font: FONT,
  background: "white",
  padding: 12,
  axis: { grid: true, gridColor: "#e4e4e4", labelFontSize: 11, titleFontSize: 12, titlePadding: 8 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: "right" },
  // frame "group": a panel title sits on its plot, not on axis labels that stick out (panels stay level).
  title: { fontSize: 15, anchor: "start", frame: "group", offset: 10, subtitleFontSize: 11, subtitleColor: "#555" },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#bbb" },
} as const;

export interface RenderedFigure {
  svg: string;
  png: Buffer;
}

export async function renderFigure(spec: TopLevelSpec): Promise<RenderedFigure> {
  const view = new vega.View(
    vega.parse(compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec),
    { renderer: "none" },
  );
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
    fitTo: { mode: "zoom", value: 2 },
    background: "white",
  })
    .render()
    .asPng();
  return { svg, png };
}

/** One metric of one task: `higherIsBetter` decides the arrow in its axis title. */
export interface MetricAxis {
  task: string;
  metrics: { name: string; label: string }[];
  higherIsBetter: boolean;
}

/** Two short lines: a long rotated title would stick out above the plot and push its panel's title up. */
const axisTitle = (axis: MetricAxis) => [
  axis.metrics.map((m) => m.label).join(" / "),
  `${axis.higherIsBetter ? "higher ↑" : "lower ↓"} is better`,
];

/** The values' range, widened to at least 0.1 (flat curves stay readable) and never below 0 (every LaMP metric is non-negative). */
export function paddedDomain(values: number[]): [number, number] {
  const lo = Math.min(...values),
    hi = Math.max(...values);
  const pad = Math.max(0.1 - (hi - lo), 0) / 2 + (hi - lo) * 0.08;
  return [Math.max(0, lo - pad), hi + pad];
}

/** Series of one panel are told apart by colour, dash and point shape, so overlapping lines stay visible. */
const SERIES_STYLE = (field: string, title: string) => ({
  color: { field, type: "nominal", title, scale: { scheme: "category10" } },
  strokeDash: { field, type: "nominal", title },
  shape: { field, type: "nominal", title },
});

export interface ScalingPoint {
  task: string;
  metric: string;
  x: number;
  value: number;
  queries: number;
}

/** Figure 3: one panel per task with that task's own metrics and axis, metric against one knob. */
export function scalingSpec(options: {
  title: string;
  knob: string;
  panels: MetricAxis[];
  points: ScalingPoint[];
}): TopLevelSpec {
  return {
    title: { text: options.title, subtitle: "PersonaAgent; the other knobs at their defaults (K=4, n=3, E=1)" },
    hconcat: options.panels.map((panel) => {
      const values = options.points.filter((p) => p.task === panel.task);
      return {
        title: panel.task,
        width: 230,
        height: 200,
        data: { values },
        // Hollow markers of different shapes: series on the same values stay visible on top of each other.
        mark: { type: "line", point: { size: 80, filled: false, strokeWidth: 2 }, strokeWidth: 2, opacity: 0.85 },
        encoding: {
          x: {
            field: "x",
            type: "quantitative",
            title: options.knob,
            axis: { values: [...new Set(values.map((p) => p.x))].sort((a, b) => a - b), format: "d" },
            scale: { padding: 12, nice: false },
          },
          y: {
            field: "value",
            type: "quantitative",
            title: axisTitle(panel),
            scale: { domain: paddedDomain(values.map((p) => p.value)) },
            axis: { format: ".2f", labelFlush: true },
          },
          ...SERIES_STYLE("metric", "metric"),
          tooltip: [
            { field: "metric" },
            { field: "x", title: options.knob },
            { field: "value", format: ".3f" },
            { field: "queries" },
          ],
        },
      };
    }),
    resolve: { scale: { color: "shared", shape: "shared", strokeDash: "shared" } },
  } as TopLevelSpec;
}

export interface BarValue {
  task: string;
  model: string;
  /** The method's full name, as in the legend. */
  method: string;
  value: number;
}

/**
 * One colour per method of the paper (Table 2's seven baselines, PersonaAgent, its four
 * ablations), in that order: no two alike, and a method keeps its colour in every report.
 */
export const METHOD_COLOURS = [
  "#7f7f7f",
  "#bcbd22",
  "#aec7e8",
  "#1f77b4",
  "#17becf",
  "#ff7f0e",
  "#8c564b",
  "#d62728",
  "#9467bd",
  "#e377c2",
  "#2ca02c",
  "#222222",
] as const;

/**
 * Figure 4: methods x base models. Per task (its headline metric), one group of bars per base
 * model (one `eval --model` run each), one bar per method in the paper's order and colours.
 */
export function baseModelSpec(options: {
  title: string;
  subtitle: string;
  panels: MetricAxis[];
  methods: { label: string; colour: string }[];
  values: BarValue[];
}): TopLevelSpec {
  const labels = options.methods.map((m) => m.label);
  return {
    title: { text: options.title, subtitle: options.subtitle },
    hconcat: options.panels.map((panel) => {
      const values = options.values.filter((v) => v.task === panel.task);
      // Headroom for the value labels, which would otherwise stick out and lift the panel title.
      const top = Math.max(...values.map((v) => v.value), 0.1) * 1.12;
      return {
        title: panel.task,
        width: { step: 22 },
        height: 220,
        data: { values },
        encoding: {
          x: { field: "model", type: "nominal", title: "base model", axis: { labelAngle: 0, labelLimit: 400 } }, // Vega estimates label widths generously in Node
          xOffset: { field: "method", type: "nominal", sort: labels, scale: { paddingInner: 0.08 } },
          y: {
            field: "value",
            type: "quantitative",
            title: axisTitle(panel),
            scale: { domain: [0, top], nice: false },
          },
        },
        layer: [
          {
            mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
            encoding: {
              color: {
                field: "method",
                type: "nominal",
                title: "method",
                scale: { domain: labels, range: options.methods.map((m) => m.colour) },
                legend: { labelLimit: 400 },
              },
              tooltip: [{ field: "model" }, { field: "method" }, { field: "value", format: ".3f" }],
            },
          },
          // The value above each bar: a zero is a visible "0.00", not a missing bar.
          {
            mark: { type: "text", dy: -6, fontSize: 9, angle: 0 },
            encoding: { text: { field: "value", type: "quantitative", format: ".2f" } },
          },
        ],
      };
    }),
    resolve: { scale: { color: "shared" } },
  } as TopLevelSpec;
}

export interface MapPoint {
  x: number;
  y: number;
  label: string;
  /** The panel: the task whose personas these are. */
  group: string;
  kind: "final persona" | "initial template";
}

/**
 * t-SNE (seeded, so a report is reproducible) of the embeddings; perplexity bounded by the point
 * count (below 1.5 its calibration can fail on a handful of points). Undefined if it still fails.
 */
export function tsne2d(vectors: number[][], seed = 7): [number, number][] | undefined {
  const perplexity = Math.max(1.5, Math.min(30, (vectors.length - 1) / 3));
  const coords = TSNE.transform(vectors, { d: 2, perplexity, seed }) as unknown as [number, number][];
  return coords.flat().every(Number.isFinite) ? coords : undefined;
}

/**
 * Figure 2: each task's final personas in 2-D (a t-SNE of its own), the initial persona template
 * marked; one panel per task, in the order given (the paper's is LaMP-2M).
 */
export function personaMapSpec(options: {
  title: string;
  subtitle: string;
  panels: { title: string; points: MapPoint[] }[];
}): TopLevelSpec {
  return {
    title: { text: options.title, subtitle: options.subtitle },
    hconcat: options.panels.map((panel) => ({
      title: panel.title,
      width: 380,
      height: 320,
      data: { values: panel.points },
      layer: [
        {
          mark: { type: "point", filled: true, opacity: 0.8 },
          encoding: {
            x: {
              field: "x",
              type: "quantitative",
              title: "t-SNE 1",
              axis: { labels: false, ticks: false },
              scale: { zero: false, padding: 40 },
            },
            y: {
              field: "y",
              type: "quantitative",
              title: "t-SNE 2",
              axis: { labels: false, ticks: false },
              scale: { zero: false, padding: 40 },
            },
            color: {
              field: "kind",
              type: "nominal",
              title: "persona",
              scale: { domain: ["final persona", "initial template"], range: ["#1f77b4", "#d62728"] },
            },
            shape: {
              field: "kind",
              type: "nominal",
              title: "persona",
              scale: { domain: ["final persona", "initial template"], range: ["circle", "diamond"] },
            },
            size: { condition: { test: "datum.kind === 'initial template'", value: 320 }, value: 70 },
            tooltip: [{ field: "label", title: "user" }, { field: "group", title: "task" }, { field: "kind" }],
          },
        },
        {
          transform: [{ filter: "datum.kind === 'initial template'" }],
          mark: { type: "text", dy: 22, fontSize: 11, fontWeight: "bold" },
          encoding: {
            x: { field: "x", type: "quantitative" },
            y: { field: "y", type: "quantitative" },
            text: { value: "initial template" },
          },
        },
      ],
    })),
    resolve: { scale: { color: "shared", shape: "shared" } },
  } as TopLevelSpec;
}

/** Figure 5: a users x users matrix of values in [0, 1] with a colour scale; values printed while cells are large enough. */
export function heatmapSpec(options: {
  title: string;
  subtitle: string;
  users: string[];
  matrix: number[][];
}): TopLevelSpec {
  const values = options.matrix.flatMap((row, i) =>
    row.map((v, j) => ({ a: options.users[i], b: options.users[j], value: v })),
  );
  const step = Math.max(22, Math.min(44, Math.floor(520 / Math.max(options.users.length, 1))));
  const sort = options.users;
  return {
    title: { text: options.title, subtitle: options.subtitle },
    width: { step },
    height: { step },
    data: { values },
    encoding: {
      x: { field: "b", type: "ordinal", sort, title: "user", axis: { labelAngle: -45, grid: false } },
      y: { field: "a", type: "ordinal", sort, title: "user", axis: { grid: false } },
    },
    layer: [
      {
        mark: { type: "rect", stroke: "white", strokeWidth: 1 },
        encoding: {
          color: {
            field: "value",
            type: "quantitative",
            title: "Jaccard",
            scale: { scheme: "blues", domain: [0, 1] },
            legend: { gradientLength: 200 },
          },
          tooltip: [
            { field: "a", title: "persona of" },
            { field: "b", title: "compared with" },
            { field: "value", format: ".3f", title: "Jaccard" },
          ],
        },
      },
      ...(step >= 34
        ? [
            {
              mark: { type: "text", fontSize: 10 },
              encoding: {
                text: { field: "value", type: "quantitative", format: ".2f" },
                color: { condition: { test: "datum.value > 0.6", value: "white" }, value: "black" },
              },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}
