import { describe, expect, it } from "vitest";
import css from "./styles.css?raw";

// The dark theme and the production colours are token overrides: a colour
// written anywhere else stays light in the dark theme (the history chart's
// white background did, seen only on a screenshot).
const COLOUR = /#[0-9a-fA-F]{3,8}\b|\brgba?\(/g;

/** The window's own sources, as text (tests and the generated bindings aside). */
const sources = import.meta.glob<string>(["./**/*.{ts,tsx}", "!./**/*.test.{ts,tsx}", "!./bindings.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});

describe("the window's colours", () => {
  it("come from the theme's tokens: the stylesheet writes colours only in its token blocks", () => {
    // The light tokens, then the dark theme's overrides: the only two blocks that define colours.
    const tokenBlocks = /^:root \{[\s\S]*?^\}\n@media \(prefers-color-scheme: dark\) \{[\s\S]*?^\}\n/m;
    expect(css).toMatch(tokenBlocks);
    const rules = css.replace(tokenBlocks, "").replace(/\/\*[\s\S]*?\*\//g, "");
    expect(rules.match(COLOUR) ?? []).toEqual([]);
  });

  it("are never written into a component", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    const written = Object.entries(sources).flatMap(([path, text]) =>
      (text.match(/["'`]#[0-9a-fA-F]{3,8}["'`]/g) ?? []).map((c) => `${path}: ${c}`),
    );
    expect(written).toEqual([]);
  });
});
