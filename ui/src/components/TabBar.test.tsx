import { describe, expect, it } from "vitest";
import { useState } from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import { TabBar } from "./TabBar";

const TABS = ["Overview", "Logs", "Audit"] as const;

function Window() {
  const [tab, setTab] = useState<(typeof TABS)[number]>("Overview");
  return (
    <>
      <TabBar tabs={TABS} current={tab} onChoose={setTab} />
      <main role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`}>
        {tab} content
      </main>
    </>
  );
}

describe("the window's tabs from the keyboard", () => {
  it("are one stop in the tab order; the arrows, Home and End choose the next, the previous, the first and the last", () => {
    render(<Window />);
    const tab = (name: string) => screen.getByRole("tab", { name });
    expect(TABS.map((t) => tab(t).tabIndex)).toEqual([0, -1, -1]);
    tab("Overview").focus();
    fireEvent.keyDown(tab("Overview"), { key: "ArrowRight" });
    expect(document.activeElement).toBe(tab("Logs"));
    expect(tab("Logs").getAttribute("aria-selected")).toBe("true");
    expect(screen.getByRole("tabpanel", { name: "Logs" }).textContent).toBe("Logs content");
    fireEvent.keyDown(tab("Logs"), { key: "End" });
    expect(document.activeElement).toBe(tab("Audit"));
    fireEvent.keyDown(tab("Audit"), { key: "ArrowRight" });
    expect(document.activeElement).toBe(tab("Overview"));
    fireEvent.keyDown(tab("Overview"), { key: "ArrowLeft" });
    expect(screen.getByRole("tabpanel", { name: "Audit" })).toBeTruthy();
    fireEvent.keyDown(tab("Audit"), { key: "Home" });
    expect(TABS.map((t) => tab(t).tabIndex)).toEqual([0, -1, -1]);
  });
});
