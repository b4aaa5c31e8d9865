import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { StatusLight } from "./StatusLight";

describe("the Overview's status light", () => {
  it("is green, orange or red with words for screen readers, a grey clock while waiting, and absent without a scheduled task", () => {
    const { container, rerender } = render(<StatusLight status="ok" />);
    expect(screen.getByRole("img").className).toContain("green");
    expect(screen.getByRole("img").getAttribute("aria-label")).toMatch(/^OK: every scheduled task's last run succeeded/);
    rerender(<StatusLight status="warning" />);
    expect(screen.getByRole("img").className).toContain("orange");
    rerender(<StatusLight status="failed" />);
    expect(screen.getByRole("img").className).toContain("red");
    expect(screen.getByRole("img").getAttribute("title")).toMatch(/^Failed/);
    rerender(<StatusLight status="waiting" />);
    expect(screen.getByRole("img").textContent).toBe("◷");
    expect(screen.getByRole("img").getAttribute("aria-label")).toMatch(/^Waiting/);
    rerender(<StatusLight status="none" />);
    expect(container.innerHTML).toBe("");
  });
});
