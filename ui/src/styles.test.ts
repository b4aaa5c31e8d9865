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

  it("read at WCAG AA contrast in both themes: text 4.5:1 on what it is written on, focus rings and marks 3:1", () => {
    const light = tokens(css.match(/^:root \{([\s\S]*?)^\}/m)?.[1] ?? "");
    const dark = { ...light, ...tokens(css.match(/@media \(prefers-color-scheme: dark\) \{\s*:root \{([\s\S]*?)\}/)?.[1] ?? "") };
    expect(Object.keys(light).length).toBeGreaterThan(40);
    const text: [string, string][] = [
      ...["--bg", "--surface", "--surface-2", "--ok-bg", "--bad-bg", "--accent-weak"].map((b): [string, string] => ["--text", b]),
      ...["--bg", "--surface", "--surface-2", "--ok-bg", "--bad-bg", "--warn-bg"].map((b): [string, string] => ["--muted", b]),
      ["--on-accent", "--accent"],
      ["--on-danger", "--danger"],
      ["--error-text", "--error-bg"],
      ["--notice-text", "--notice-bg"],
      ["--warn-text", "--warn-bg"],
      ["--topbar-text", "--topbar-bg"],
      ["--topbar-text", "--topbar-item"],
      ["--badge-text", "--badge-bg"],
      ...["--code-text", "--code-keyword", "--code-string", "--code-comment", "--code-number"].map((f): [string, string] => [f, "--code-bg"]),
      // The chart's legend writes its words in the series' colours.
      ...["--chart-created", "--chart-updated", "--chart-removed", "--chart-blocked"].map((f): [string, string] => [f, "--surface"]),
    ];
    const marks: [string, string][] = [
      ["--accent", "--bg"],
      ["--accent", "--surface"],
    ];
    const below = (theme: Record<string, string>, pairs: [string, string][], least: number) =>
      pairs
        .map(([f, b]) => ({ pair: `${f} on ${b}`, ratio: contrast(theme[f], theme[b]) }))
        .filter((c) => !(c.ratio >= least))
        .map((c) => `${c.pair}: ${c.ratio.toFixed(2)}`);
    expect({ light: below(light, text, 4.5), dark: below(dark, text, 4.5) }).toEqual({ light: [], dark: [] });
    expect({ light: below(light, marks, 3), dark: below(dark, marks, 3) }).toEqual({ light: [], dark: [] });
  });
});

/** The `--name: #rrggbb` tokens of a block. */
function tokens(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/(--[\w-]+):\s*(#[0-9a-fA-F]{6})\b/g)].map((m) => [m[1], m[2]]));
}

/** WCAG's contrast ratio of two #rrggbb colours (NaN when one is missing). */
function contrast(a: string | undefined, b: string | undefined): number {
  if (!a || !b) return NaN;
  const luminance = (hex: string) => {
    const channel = (i: number) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  };
  const [x, y] = [luminance(a), luminance(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}
