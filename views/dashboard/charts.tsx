/** @jsxImportSource hono/jsx */
// Small server-rendered SVG charts: a sparkline (queue depth) and stacked bars (tasks finished / failed).
import type { FC } from "hono/jsx";

const W = 240;
const H = 48;

const STROKE = { info: "stroke-info", warn: "stroke-warn", neutral: "stroke-neutral", ok: "stroke-ok", err: "stroke-err" } as const;
const FILL = { info: "fill-info", warn: "fill-warn", neutral: "fill-neutral", ok: "fill-ok", err: "fill-err" } as const;
type ChartTone = keyof typeof STROKE;

export const Sparkline: FC<{ values: number[]; tone: ChartTone; label: string }> = ({ values, tone, label }) => {
  const max = Math.max(1, ...values);
  const n = values.length;
  const x = (i: number) => (n <= 1 ? W : (i / (n - 1)) * W);
  const y = (v: number) => H - 2 - (v / max) * (H - 4);
  const line = values.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const area = `${line}L${W},${H}L0,${H}Z`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" class="h-12 w-full" role="img" aria-label={label}>
      <title>{label}</title>
      <path d={area} class={FILL[tone]} opacity="0.15" />
      <path d={line} class={STROKE[tone]} fill="none" stroke-width="1.5" vector-effect="non-scaling-stroke" stroke-linejoin="round" />
    </svg>
  );
};

export const StackedBars: FC<{ data: Array<{ ok: number; err: number }>; label: string }> = ({ data, label }) => {
  const max = Math.max(1, ...data.map((d) => d.ok + d.err));
  const n = Math.max(1, data.length);
  const slot = W / n;
  const bar = Math.max(1, slot - 1);
  const h = (v: number) => (v / max) * (H - 2);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" class="h-16 w-full" role="img" aria-label={label}>
      <title>{label}</title>
      <line x1="0" y1={H - 0.5} x2={W} y2={H - 0.5} class="stroke-line" stroke-width="1" vector-effect="non-scaling-stroke" />
      {data.map((d, i) =>
        d.ok + d.err === 0 ? null : (
          <g>
            {d.ok > 0 ? <rect x={(i * slot).toFixed(2)} y={(H - h(d.ok)).toFixed(2)} width={bar.toFixed(2)} height={h(d.ok).toFixed(2)} class="fill-ok" /> : null}
            {d.err > 0 ? (
              <rect x={(i * slot).toFixed(2)} y={(H - h(d.ok) - h(d.err)).toFixed(2)} width={bar.toFixed(2)} height={h(d.err).toFixed(2)} class="fill-err" />
            ) : null}
          </g>
        ),
      )}
    </svg>
  );
};
