import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { TasksPanel } from "./TasksPanel";
import type { Screen } from "../../navigation";
import type { ConnectorSummary } from "../../bindings";

const connector: ConnectorSummary = {
  id: "c1", name: "HR", type: "hr_file", script: null, target: "local", scheduled_count: 2, event_count: 1, authentication_count: 0, supports_authentication: false, status: "none",
};
const task = (id: string, name: string, usage: string, enabled: boolean, load: string | null) => ({
  id, connector_id: "c1", connector_name: "HR", name, usage, enabled, schedule: usage === "scheduled" ? "0 0 6 * * *" : null,
  timezone: "UTC", target_template: "person", reference_count: 0, next_run: null,
  last_run: load ? { run_id: `r-${id}`, status: load === "failed" ? "failed" : "succeeded", extract: "succeeded", load, started_at: "2026-12-04T06:00:00Z", fetched: 3 } : null,
});
const tasks = [
  task("t1", "Nightly", "scheduled", true, "succeeded"),
  task("t2", "Weekly", "scheduled", false, "failed"),
  task("t3", "Disable user", "event", true, null),
];

describe("a connector's tasks", () => {
  it("shows the next run in the task's time zone, which the computer's may not be", async () => {
    const helsinki = { ...task("t1", "Nightly", "scheduled", true, null), timezone: "Europe/Helsinki", next_run: "2026-12-08T00:00:00Z" };
    renderWithEngine(<TasksPanel connector={connector} open={() => undefined} />, {
      list_tasks: () => [helsinki, task("t2", "Weekly", "scheduled", false, null)],
    });
    await waitFor(() => expect(screen.getAllByTestId("next-run").length).toBe(2));
    const [nightly, weekly] = screen.getAllByTestId("next-run").map((c) => c.textContent);
    // 00:00 UTC is 02:00 in Helsinki in December.
    expect(nightly).toMatch(/Dec 8, 2026.*02:00.*Europe\/Helsinki$/);
    expect(weekly).toBe("disabled");
  });

  it("searches every word the table shows, copies event tasks, and opens a row's editor on a double click", async () => {
    const opened: Screen[] = [];
    const copied: unknown[] = [];
    renderWithEngine(
      <TasksPanel connector={connector} open={(d: Screen) => opened.push(d)} />,
      {
        list_tasks: () => tasks,
        copy_task: (args) => {
          copied.push(args);
          return tasks[2];
        },
      },
    );
    await waitFor(() => expect(screen.getAllByTestId("task-row").length).toBe(2));
    const search = screen.getByLabelText("Search scheduled tasks of HR");
    const names = () => screen.queryAllByTestId("task-row").map((r) => r.querySelector(".task-name")?.textContent);
    fireEvent.change(search, { target: { value: "disabled" } });
    expect(names()).toEqual(["Weekly"]);
    fireEvent.change(search, { target: { value: "no" } });
    expect(names()).toEqual(["Weekly"]);
    fireEvent.change(search, { target: { value: "failed" } });
    expect(names()).toEqual(["Weekly"]);
    fireEvent.change(search, { target: { value: "succeeded" } });
    expect(names()).toEqual(["Nightly", "Weekly"]);
    fireEvent.change(search, { target: { value: "" } });

    fireEvent.click(screen.getByRole("button", { name: "Copy Disable user" }));
    await waitFor(() => expect(copied).toEqual([{ reference: "t3", name: null }]));

    fireEvent.doubleClick(screen.getByRole("cell", { name: "Disable user" }));
    fireEvent.doubleClick(screen.getByRole("cell", { name: "Weekly" }));
    // A double click on a control is the control's.
    fireEvent.doubleClick(screen.getByRole("checkbox", { name: "Select Nightly" }));
    expect(opened).toEqual([
      { kind: "task", connectorId: "c1", taskId: "t3", usage: "event" },
      { kind: "task", connectorId: "c1", taskId: "t2", usage: "scheduled" },
    ]);
  });

  it("refuses to remove a task workflows call, naming them, and removes it only when asked again", async () => {
    const removals: unknown[] = [];
    renderWithEngine(<TasksPanel connector={connector} open={() => {}} />, {
      list_tasks: () => [{ ...tasks[2], reference_count: 2 }],
      remove_task: (args) => {
        removals.push(args);
        if (!args.force) {
          throw { code: "in_use", message: "task 'HR/Disable user' is in use by workflows: Leaver flow; removing it anyway breaks those callers", remedy: "force" };
        }
        return tasks[2];
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Remove Disable user" }));
    fireEvent.click(within(screen.getByRole("dialog", { name: "Remove tasks" })).getByRole("button", { name: "Remove" }));
    const dialog = screen.getByRole("dialog", { name: "Remove tasks" });
    await waitFor(() => expect(dialog.textContent).toContain("in use by workflows: Leaver flow"));
    expect(removals).toEqual([{ reference: "t3", force: false }]);
    fireEvent.click(within(dialog).getByRole("button", { name: "Remove anyway" }));
    await waitFor(() => expect(removals).toEqual([{ reference: "t3", force: false }, { reference: "t3", force: true }]));
  });
});
