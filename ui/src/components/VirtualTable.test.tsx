import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { withWindowSize } from "../test/layout";
import { VirtualTable, type Column } from "./VirtualTable";

type Person = { id: string; name: string };
const people: Person[] = [
  { id: "1", name: "Ann" },
  { id: "2", name: "Bob" },
  { id: "3", name: "Cid" },
];
const columns: Column<Person>[] = [{ id: "name", header: "Name", accessorFn: (p) => p.name }];

describe("a virtualized table from the keyboard", () => {
  withWindowSize();

  it("moves between rows with the arrow keys, opens one with Enter, and shows an expansion as a row of its own", async () => {
    const opened: string[] = [];
    render(
      <VirtualTable
        label="People"
        data={people}
        columns={columns}
        rowId={(p) => p.id}
        onActivate={(p) => opened.push(p.name)}
        renderExpanded={(p) => (p.id === "2" ? <p>Bob's tasks</p> : null)}
      />,
    );
    const rows = screen.getAllByRole("row").filter((r) => r.getAttribute("aria-rowindex") !== null);
    expect(rows.map((r) => r.textContent)).toEqual(["Ann", "Bob", "Cid"]);
    // One stop in the tab order: the first row; the others are reached with the arrows.
    expect(rows.map((r) => r.tabIndex)).toEqual([0, -1, -1]);
    rows[0]?.focus();
    fireEvent.keyDown(rows[0] as HTMLElement, { key: "ArrowDown" });
    await new Promise((done) => requestAnimationFrame(() => done(null)));
    expect(document.activeElement).toBe(rows[1]);
    fireEvent.keyDown(rows[1] as HTMLElement, { key: "Enter" });
    expect(opened).toEqual(["Bob"]);
    // The expansion is a row of one cell spanning the columns, not loose content among the rows.
    const expansion = screen.getByText("Bob's tasks").closest("[role=cell]");
    expect(expansion?.getAttribute("aria-colspan")).toBe("1");
    expect(expansion?.parentElement?.getAttribute("role")).toBe("row");
  });
});
