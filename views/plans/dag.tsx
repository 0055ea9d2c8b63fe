/** @jsxImportSource hono/jsx */
// A plan's steps as a graph: layered by dependency depth, drawn as a server-rendered SVG on wide
// screens and as stacked stages of cards on a phone. Each node links to its step (run view) or task.
import type { FC } from "hono/jsx";
import { STATUS_TONE, label, toneClass, type Tone } from "../components/ui.tsx";

export interface DagNode {
  name: string;
  taskType: string;
  /** The step's task status in a run; null in a plan's definition. */
  status: string | null;
  depends: string[];
  href?: string;
  /** htmx: fetched into #run-live instead of following href. */
  hxGet?: string;
}

const STROKE: Record<Tone, string> = {
  ok: "stroke-ok",
  err: "stroke-err",
  warn: "stroke-warn",
  info: "stroke-info",
  violet: "stroke-violet",
  neutral: "stroke-neutral",
};
const FILL: Record<Tone, string> = { ok: "fill-ok", err: "fill-err", warn: "fill-warn", info: "fill-info", violet: "fill-violet", neutral: "fill-neutral" };

/** Layers by longest path from a root; within a layer, parents' average position orders the nodes. */
export function layers(nodes: DagNode[]): DagNode[][] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (n: DagNode): number => {
    const known = depth.get(n.name);
    if (known !== undefined) return known;
    if (visiting.has(n.name)) return 0; // a cycle cannot be saved; never loop on one anyway
    visiting.add(n.name);
    const parents = n.depends.map((d) => byName.get(d)).filter((p): p is DagNode => p !== undefined);
    const d = parents.length ? 1 + Math.max(...parents.map(depthOf)) : 0;
    visiting.delete(n.name);
    depth.set(n.name, d);
    return d;
  };
  const out: DagNode[][] = [];
  for (const n of nodes) (out[depthOf(n)] ??= []).push(n);
  const position = new Map<string, number>();
  for (const layer of out.filter(Boolean)) {
    const score = (n: DagNode) => {
      const ps = n.depends.map((d) => position.get(d)).filter((p): p is number => p !== undefined);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : -1;
    };
    layer.sort((a, b) => score(a) - score(b));
    layer.forEach((n, i) => position.set(n.name, i));
  }
  return out.filter(Boolean);
}

const W = 176;
const H = 52;
const GX = 56;
const GY = 18;
const PAD = 8;

const short = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const toneOf = (n: DagNode): Tone => (n.status ? (STATUS_TONE[n.status] ?? "neutral") : "neutral");

export const DagSvg: FC<{ nodes: DagNode[]; selected?: string | null }> = ({ nodes, selected }) => {
  const ls = layers(nodes);
  const maxN = Math.max(1, ...ls.map((l) => l.length));
  const pos = new Map<string, { x: number; y: number }>();
  ls.forEach((layer, li) =>
    layer.forEach((n, k) => pos.set(n.name, { x: PAD + li * (W + GX), y: PAD + (k + (maxN - layer.length) / 2) * (H + GY) })),
  );
  const width = PAD * 2 + ls.length * (W + GX) - GX;
  const height = PAD * 2 + maxN * (H + GY) - GY;
  return (
    <svg
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      class="h-auto max-w-full"
      // A picture, unless its nodes are links (a run's steps): then a group of them, each reachable.
      role={nodes.some((n) => n.href) ? "group" : "img"}
      aria-label={`Steps graph: ${nodes.map((n) => `${n.name}${n.status ? ` ${label(n.status)}` : ""}`).join(", ")}`}
      data-dag=""
    >
      <defs>
        <marker id="dag-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L8,4 L0,8 z" class="fill-muted" />
        </marker>
      </defs>
      {nodes.flatMap((n) =>
        n.depends.map((d) => {
          const a = pos.get(d);
          const b = pos.get(n.name);
          if (!a || !b) return null;
          const x1 = a.x + W;
          const y1 = a.y + H / 2;
          const x2 = b.x - 2;
          const y2 = b.y + H / 2;
          const mid = (x1 + x2) / 2;
          return <path d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} fill="none" class="stroke-muted" stroke-width="1.25" marker-end="url(#dag-arrow)" />;
        }),
      )}
      {nodes.map((n) => {
        const p = pos.get(n.name)!;
        const tone = toneOf(n);
        const isSel = selected === n.name;
        const body = (
          <g data-step={n.name} data-status={n.status ?? undefined}>
            <title>{`${n.name} (${n.taskType})${n.status ? `: ${label(n.status)}` : ""}`}</title>
            <rect x={p.x} y={p.y} width={W} height={H} rx="8" class={`fill-surface ${isSel ? "stroke-accent" : STROKE[tone]}`} stroke-width={isSel ? 3 : 1.5} />
            <circle cx={p.x + 14} cy={p.y + 18} r="5" class={`${FILL[tone]}${n.status === "running" ? " anim-pulse" : ""}`} />
            <text x={p.x + 26} y={p.y + 22} font-size="13" font-weight="600" class="fill-fg">
              {short(n.name, 19)}
            </text>
            <text x={p.x + 14} y={p.y + 40} font-size="11" class="fill-muted">
              {short(`${n.status ? `${label(n.status)} · ` : ""}${n.taskType}`, 26)}
            </text>
          </g>
        );
        return n.href ? (
          <a href={n.href} hx-get={n.hxGet} hx-target={n.hxGet ? "#run-live" : undefined} hx-swap={n.hxGet ? "outerHTML" : undefined} hx-push-url={n.hxGet ? n.href : undefined}>
            {body}
          </a>
        ) : (
          body
        );
      })}
    </svg>
  );
};

/** The same graph for narrow screens: one row of cards per stage, each saying what it waits for. */
export const DagStages: FC<{ nodes: DagNode[]; selected?: string | null }> = ({ nodes, selected }) => (
  <ol class="flex flex-col gap-2" data-dag-stages="">
    {layers(nodes).map((layer, i) => (
      <li>
        <p class="mb-1 text-xs text-muted">Stage {i + 1}</p>
        <ul class="flex flex-wrap gap-2">
          {layer.map((n) => {
            const inner = (
              <>
                <span class="flex items-center gap-2">
                  <span class="min-w-0 truncate font-medium">{n.name}</span>
                  {n.status ? <span class={`badge ${toneClass(toneOf(n))}`}>{label(n.status)}</span> : null}
                </span>
                <span class="block truncate text-xs text-muted">
                  {n.taskType}
                  {n.depends.length ? ` · after ${n.depends.join(", ")}` : ""}
                </span>
              </>
            );
            const cls = `card block min-w-0 max-w-full px-3 py-2 text-sm ${selected === n.name ? "border-accent border-2" : ""}`;
            return (
              <li class="min-w-0 max-w-full" data-step={n.name}>
                {n.href ? (
                  <a href={n.href} class={`${cls} hover:bg-surface-2`} hx-get={n.hxGet} hx-target={n.hxGet ? "#run-live" : undefined} hx-swap={n.hxGet ? "outerHTML" : undefined} hx-push-url={n.hxGet ? n.href : undefined}>
                    {inner}
                  </a>
                ) : (
                  <div class={cls}>{inner}</div>
                )}
              </li>
            );
          })}
        </ul>
      </li>
    ))}
  </ol>
);

/** The graph, as SVG from the md breakpoint up and as stages below it. */
export const Dag: FC<{ nodes: DagNode[]; selected?: string | null }> = ({ nodes, selected }) => (
  <>
    <div class="hidden md:block">
      <DagSvg nodes={nodes} selected={selected} />
    </div>
    <div class="md:hidden">
      <DagStages nodes={nodes} selected={selected} />
    </div>
  </>
);
