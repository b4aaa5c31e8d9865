import type { Run } from "../../bindings";
import { count, when } from "../../format";

/** The series drawn for the counts; each colour is a theme token (`.series-KEY` in styles.css). */
const SERIES: { key: "created" | "updated" | "removed" | "blocked"; label: string }[] = [
  { key: "created", label: "Created" },
  { key: "updated", label: "Updated" },
  { key: "removed", label: "Removed" },
  { key: "blocked", label: "Blocked" },
];

const WIDTH = 560;
const HEIGHT = 90;
/** The band above the bars and lines that holds their label ("Duration", "Cards"): a full bar must not hide it. */
const LABEL = 16;

/** Seconds a run took (from its start to its end); `null` while running or when skipped. */
export function durationOf(r: Run): number | null {
  if (!r.finished_at || r.status === "skipped") return null;
  const s = (new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : null;
}

/**
 * The last runs at a glance, oldest on the left: how long each took (bars;
 * red for failed or interrupted) and how many cards it created, updated,
 * removed and blocked (lines), so a drift or a sudden spike is seen.
 */
export function RunsChart({ runs, last = 30 }: { runs: Run[]; last?: number }) {
  const shown = runs.slice(0, last).reverse();
  if (shown.length < 2) return null;
  const step = WIDTH / shown.length;
  const longest = Math.max(0.001, ...shown.map((r) => durationOf(r) ?? 0));
  const most = Math.max(1, ...shown.flatMap((r) => SERIES.map((s) => Number(r.counts[s.key]))));
  const y = (v: number, max: number) => HEIGHT - (v / max) * (HEIGHT - LABEL);
  return (
    <figure className="runs-chart" aria-label="Last runs chart">
      <svg width={WIDTH} height={HEIGHT * 2 + 16} role="img" aria-label={`Duration and card counts of the last ${shown.length} runs`}>
        <text x={4} y={12} className="chart-label">
          Duration
        </text>
        <g>
          {shown.map((r, i) => {
            const d = durationOf(r);
            const h = d === null ? 2 : Math.max(2, (d / longest) * (HEIGHT - LABEL));
            const bad = r.status === "failed" || r.status === "interrupted";
            return (
              <rect key={r.id} x={i * step + 1} y={HEIGHT - h} width={Math.max(1, step - 2)} height={h} className={bad ? "bar bad" : r.status === "skipped" ? "bar skipped" : "bar"}>
                <title>{`${when(r.started_at)}: ${r.status}, ${d === null ? "no duration" : `${d.toFixed(1)} s`}`}</title>
              </rect>
            );
          })}
        </g>
        <line x1={0} x2={WIDTH} y1={HEIGHT + 8} y2={HEIGHT + 8} className="rule" />
        <text x={4} y={HEIGHT + 28} className="chart-label">
          Cards
        </text>
        <g transform={`translate(0, ${HEIGHT + 16})`}>
          {SERIES.map((s) => (
            <polyline
              key={s.key}
              fill="none"
              className={`series-${s.key}`}
              strokeWidth={1.5}
              points={shown.map((r, i) => `${(i + 0.5) * step},${y(Number(r.counts[s.key]), most)}`).join(" ")}
            />
          ))}
        </g>
      </svg>
      <figcaption>
        Bars: duration (longest {longest < 10 ? longest.toFixed(2) : longest.toFixed(0)} s). Lines, up to {count(most)} cards:{" "}
        {SERIES.map((s) => (
          <span key={s.key} className={`legend series-${s.key}`}>
            ■ {s.label}{" "}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
