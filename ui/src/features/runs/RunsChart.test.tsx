import { describe, expect, it } from "vitest";
import { render } from "@testing-library/react";
import { RunsChart, durationOf } from "./RunsChart";
import type { Run } from "../../bindings";

const run = (i: number, status: Run["status"], seconds: number, created: number): Run =>
  ({
    id: `r${i}`,
    status,
    started_at: `2026-12-0${i}T06:00:00Z`,
    finished_at: new Date(Date.parse(`2026-12-0${i}T06:00:00Z`) + seconds * 1000).toISOString(),
    counts: { fetched: created, valid: created, blocked: 0, created, updated: 0, unchanged: 0, removed: 0, failed: 0, takeovers: 0 },
  }) as unknown as Run;

describe("the history chart", () => {
  it("draws one bar per run, oldest first, failed runs red, and the counts as lines", () => {
    // Newest first, as history lists them.
    const runs = [run(3, "failed", 1, 0), run(2, "succeeded", 4, 500), run(1, "succeeded", 2, 10)];
    const { container } = render(<RunsChart runs={runs} />);
    const bars = [...container.querySelectorAll("rect")];
    // Each bar's time in the computer's clock, as the history's rows.
    const at = (day: number) => new Date(`2026-12-0${day}T06:00:00Z`).toLocaleString();
    expect(bars.map((b) => b.querySelector("title")?.textContent?.split(": ")[0])).toEqual([at(1), at(2), at(3)]);
    expect(bars[2]?.getAttribute("class")).toBe("bar bad");
    // The longest run has the tallest bar.
    const heights = bars.map((b) => Number(b.getAttribute("height")));
    expect(Math.max(...heights)).toBe(heights[1]);
    // … and stops below the "Duration" label (drawn at y 12), which it used to cover.
    expect(Math.min(...bars.map((b) => Number(b.getAttribute("y"))))).toBeGreaterThanOrEqual(16);
    expect(container.querySelectorAll("polyline").length).toBe(4);
    expect(container.textContent).toContain("up to 500 cards");
    expect(durationOf(runs[1] as Run)).toBe(4);
  });

  it("draws nothing for fewer than two runs", () => {
    const { container } = render(<RunsChart runs={[run(1, "succeeded", 1, 1)]} />);
    expect(container.querySelector("svg")).toBeNull();
  });
});
