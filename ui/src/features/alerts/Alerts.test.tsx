import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { AlertsButton } from "./Alerts";
import { plannedChanges } from "../../test/plans";

const alert = (id: number, severity: string, acknowledged: boolean) => ({
  id, created_at: "2026-12-04T01:00:00Z", task_id: "t1", run_id: "r1", task: `HR/Task ${id}`,
  status: "failed", message: "the script ended with exit code 1", acknowledged, severity, help: null as string | null,
});

describe("the alerts list", () => {
  it("counts every unacknowledged alert on the button, coloured by the most severe, lists them, and acknowledges one", async () => {
    const alerts = [alert(3, "critical", false), alert(2, "critical", true), alert(1, "warning", false)];
    const acked: number[] = [];
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      // A fresh list per call, as the IPC delivers.
      list_alerts: () => alerts.map((a) => ({ ...a })),
      acknowledge_alert: ({ id }) => {
        acked.push(id as number);
        alerts[0] = alert(3, "critical", true);
        return null;
      },
    });
    const button = screen.getByRole("button", { name: "Alerts" });
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("2"));
    // A screen reader hears the name, then the count as its description.
    expect(screen.getByRole("button", { name: "Alerts", description: "2" })).toBe(button);
    expect(button.className).toContain("critical");
    fireEvent.click(button);
    const rows = await screen.findAllByTestId("alert-row");
    expect(rows.map((r) => r.textContent?.includes("Acknowledge"))).toEqual([true, false, true]);
    fireEvent.click(screen.getByRole("button", { name: "Acknowledge alert 3" }));
    await waitFor(() => expect(acked).toEqual([3]));
    // The warning left is still counted, in amber.
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("1"));
    expect(button.className).toContain("warning");
    expect(button.className).not.toContain("critical");
  });

  it("opens the run an alert is about, to read its log, and closes the list", async () => {
    const opened: unknown[] = [];
    renderWithEngine(<AlertsButton onOpenRun={(run) => opened.push(run)} />, {
      list_alerts: () => [alert(4, "warning", true), { ...alert(5, "warning", false), run_id: null }],
    });
    fireEvent.click(screen.getByRole("button", { name: "Alerts" }));
    await screen.findAllByTestId("alert-row");
    // An alert with no run (a failed workflow call refused before it ran) has nothing to open.
    expect(screen.queryByRole("button", { name: "Open run of alert 5" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Open run of alert 4" }));
    expect(opened).toEqual([{ kind: "run", runId: "r1", taskId: "t1", taskName: "HR/Task 4" }]);
    expect(screen.queryByRole("dialog", { name: "Alerts list" })).toBeNull();
  });

  it("counts warnings too where every alert is one (a test installation), amber", async () => {
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, { list_alerts: () => [alert(1, "warning", false), alert(2, "warning", true)] });
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("1"));
    expect(screen.getByRole("button", { name: "Alerts" }).className).toBe("alerts warning");
  });

  it("notifies each alert that arrives after the window opened, not the ones already listed", async () => {
    const shown: { title: string; body: string | undefined }[] = [];
    // What the notification plugin's script provides in the real window: the web Notification API.
    const SystemNotification = Object.assign(
      function (title: string, options?: { body?: string }) {
        shown.push({ title, body: options?.body });
      },
      { permission: "granted", requestPermission: () => Promise.resolve("granted") },
    );
    Object.defineProperty(window, "Notification", { value: SystemNotification, configurable: true });
    const alerts = [alert(1, "critical", false)];
    const view = renderWithEngine(<AlertsButton onOpenRun={() => {}} />, { list_alerts: () => alerts.map((a) => ({ ...a })) });
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("1"));
    expect(shown).toEqual([]);
    alerts.unshift({ ...alert(2, "critical", false), task: "HR/Nightly", status: "interrupted", help: "approve_plan", message: "the update limit of 100 would be exceeded (2,000 changes)" });
    // The list refreshes (every 15 s, or when a run ends): the new alert is announced once.
    await view.client.invalidateQueries({ queryKey: ["alerts"] });
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("2"));
    await view.client.invalidateQueries({ queryKey: ["alerts"] });
    await waitFor(() => expect(shown).toEqual([{ title: "Critical: HR/Nightly interrupted: waiting for approval", body: "the update limit of 100 would be exceeded (2,000 changes)" }]));
  });

  it("shows an interrupted run's planned changes before approving it, then approves once", async () => {
    const approved: unknown[] = [];
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      list_alerts: () => [{ ...alert(7, "critical", false), task: "HR/Nightly", status: "interrupted", run_id: "run-7", message: "limit", help: "approve_plan" }],
      planned_changes: ({ runId }) => plannedChanges({
        help: "approve_plan", run_id: String(runId), task_id: "t1", task: "HR/Nightly", reason: "the update limit of 100 would be exceeded (2,000 changes)",
        new: 1200, changed: 500, removals: 300, removed_object_ids: ["E-1", "E-2"], changed_object_ids: [],
        changed_cards: [{ object_id: "E-7", card_id: 70, changes: [{ field: "last_name", from: "Smith", to: "SMITH" }], holds: [] }],
        new_cards: [
          { object_id: "0001", values: [{ field: "last_name", value: "Lind" }, { field: "first_name", value: "Ann" }] },
          { object_id: "0002", values: [] },
        ],
        removed_cards: [
          {
            object_id: "E-1", card_id: 11, changes: [{ field: "accountStatus", from: "1 - Active", to: "5 - Removed" }],
            holds: [{ field: "last_name", value: "Lind" }, { field: "first_name", value: "Ann" }],
          },
        ],
      }),
      approve_run: ({ runId }) => {
        approved.push(runId);
        return { id: "new-run-1234", task_id: "t1", task: "HR/Nightly", status: "running" };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Alerts" }));
    fireEvent.click(await screen.findByRole("button", { name: "Review and approve alert 7" }));
    const dialog = await screen.findByRole("dialog", { name: "Approve interrupted run" });
    await waitFor(() => expect(dialog.textContent).toContain("the update limit of 100 would be exceeded (2,000 changes)"));
    expect(screen.getByTestId("planned-counts").textContent).toBe("New1,200Changed500Marked removed300");
    // Whose cards would be marked removed: the first read from the target, the rest by key.
    expect([...screen.getByTestId("planned-removals").querySelectorAll("li")].map((li) => li.textContent)).toEqual([
      "E-1 (card 11: last_name Lind, first_name Ann) — accountStatus: 1 - Active → 5 - Removed",
      "… and 1 more: E-2",
    ]);
    // Whom it would create: a file whose ids changed format plans the same people as new.
    expect(screen.getByRole("heading", { name: "Would be created (the first 2)" })).toBeTruthy();
    expect([...screen.getByTestId("planned-new").querySelectorAll("li")].map((li) => li.textContent)).toEqual([
      "0001 (last_name Lind, first_name Ann)",
      "0002",
    ]);
    // What approving would write, field by field, before anything is written.
    expect(screen.getByRole("heading", { name: "Would be changed as the source says (the first 1)" })).toBeTruthy();
    expect(screen.getByTestId("planned-changed").textContent).toBe("E-7 (card 70) — last_name: Smith → SMITH");
    expect(approved).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Approve and run" }));
    expect(await screen.findByText("Approved: run new-run- started.")).toBeTruthy();
    // The engine marks the run's alerts seen when it approves: the window asks nothing more.
    expect(approved).toEqual(["run-7"]);
  });

  it("offers a run's held removals for review, then applies them once without running the task again", async () => {
    const applied: unknown[] = [];
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      list_alerts: () => [{ ...alert(8, "warning", false), task: "HR/Nightly", status: "held", run_id: "run-8", message: "3 removals held", help: "apply_held" }],
      planned_changes: ({ runId }) => plannedChanges({
        help: "apply_held", run_id: String(runId), task_id: "t1", task: "HR/Nightly",
        reason: "3 removals would take the run's 5 changes over the update limit of 2; they are held until a person approves them",
        new: 0, changed: 0, removals: 3, removed_object_ids: ["3", "4", "5"], changed_object_ids: [], changed_cards: [], removed_cards: [],
      }),
      apply_held: ({ runId }) => {
        applied.push(runId);
        return { id: "held-run-5678", task_id: "t1", task: "HR/Nightly", status: "succeeded", counts: { created: 0, updated: 0, removed: 3 } };
      },
      approve_run: () => {
        throw { code: "invalid", message: "the task must not run again", remedy: null };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Alerts" }));
    expect(screen.queryByRole("button", { name: "Review and approve alert 8" })).toBeNull();
    fireEvent.click(await screen.findByRole("button", { name: "Review held changes of alert 8" }));
    const dialog = await screen.findByRole("dialog", { name: "Apply held changes" });
    await waitFor(() => expect(dialog.textContent).toContain("The run loaded its other changes and held these"));
    expect(screen.getByTestId("planned-counts").textContent).toBe("Changed0Marked removed3");
    expect(screen.getByTestId("planned-removals").textContent).toBe("3\n4\n5");
    expect(screen.queryByTestId("planned-changed")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Apply held changes" }));
    expect(await screen.findByText("Applied: run held-run marked 3 cards removed.")).toBeTruthy();
    expect(applied).toEqual(["run-8"]);
  });

  it("lists the changed cards a run held when they took it over its limit, and says what applying changed", async () => {
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      list_alerts: () => [{ ...alert(9, "warning", false), task: "HR/Nightly", status: "held", run_id: "run-9", message: "5 changed cards held", help: "apply_held" }],
      planned_changes: ({ runId }) => plannedChanges({
        help: "apply_held", run_id: String(runId), task_id: "t1", task: "HR/Nightly",
        reason: "5 changed cards would take the run's 6 changes over the update limit of 2; they are held until a person approves them (the new card was loaded)",
        new: 0, changed: 5, removals: 0, removed_object_ids: [], removed_cards: [], changed_object_ids: ["1", "2", "3", "4", "5"],
        // The target could not be read: the ids alone.
        changed_cards: [],
      }),
      apply_held: () => ({ id: "held-run-9999", task_id: "t1", task: "HR/Nightly", status: "succeeded", counts: { created: 0, updated: 5, removed: 0 } }),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Alerts" }));
    fireEvent.click(await screen.findByRole("button", { name: "Review held changes of alert 9" }));
    await screen.findByRole("dialog", { name: "Apply held changes" });
    expect((await screen.findByTestId("planned-changed")).textContent).toBe("1\n2\n3\n4\n5");
    expect(screen.getByTestId("planned-counts").textContent).toBe("Changed5Marked removed0");
    expect(screen.queryByTestId("planned-removals")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Apply held changes" }));
    expect(await screen.findByText("Applied: run held-run changed 5 cards.")).toBeTruthy();
  });
});

describe("held changed cards, field by field", () => {
  it("shows what applying writes over what each card holds now, then the ids of the rest", async () => {
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      list_alerts: () => [{ ...alert(10, "warning", false), task: "HR/Nightly", status: "held", run_id: "run-10", message: "3 changed cards held", help: "apply_held" }],
      planned_changes: ({ runId }) => plannedChanges({
        help: "apply_held", run_id: String(runId), task_id: "t1", task: "HR/Nightly",
        reason: "3 changed cards would take the run's 3 changes over the update limit of 1",
        new: 0, changed: 3, removals: 0, removed_object_ids: [], removed_cards: [], changed_object_ids: ["1", "2", "3"],
        changed_cards: [
          { object_id: "1", card_id: 11, changes: [{ field: "last_name", from: "N1", to: "M1" }, { field: "manager", from: null, to: ["a", "b"] }], holds: [] },
          { object_id: "2", card_id: 12, changes: [], holds: [{ field: "first_name", value: "Ann" }] },
        ],
      }),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Alerts" }));
    fireEvent.click(await screen.findByRole("button", { name: "Review held changes of alert 10" }));
    const items = [...(await screen.findByTestId("planned-changed")).querySelectorAll("li")].map((li) => li.textContent);
    expect(items).toEqual([
      '1 (card 11) — last_name: N1 → M1 — manager: — → ["a","b"]',
      "2 (card 12: first_name Ann): holds these values already",
      "… and 1 more: 3",
    ]);
  });
});

describe("interruptions offer only what helps", () => {
  it("offers approval for an update-limit trip, review without approval for too few rows, and nothing for a file to fix", async () => {
    const approved: unknown[] = [];
    renderWithEngine(<AlertsButton onOpenRun={() => {}} />, {
      list_alerts: () => [
        { ...alert(3, "critical", false), task: "HR/Limit", status: "interrupted", run_id: "run-3", help: "approve_plan" },
        { ...alert(2, "critical", false), task: "HR/Short", status: "interrupted", run_id: "run-2", help: "review_plan" },
        { ...alert(1, "critical", false), task: "HR/Twice", status: "interrupted", run_id: "run-1", help: "fix", message: "multiple files match 'in/*.csv'" },
      ],
      planned_changes: ({ runId }) => plannedChanges({
        help: "review_plan", run_id: String(runId), task_id: "t1", task: "HR/Short",
        reason: "the file holds only 5 rows, fewer than the minimum row count of 10; nothing was loaded",
        new: 0, changed: 0, removals: 0, removed_object_ids: [], removed_cards: [], changed_object_ids: [], changed_cards: [],
      }),
      approve_run: ({ runId }) => {
        approved.push(runId);
        return null;
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Alerts" }));
    expect(await screen.findByRole("button", { name: "Review and approve alert 3" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Review and approve alert 2" })).toBeNull();
    // A file to fix: its run's log to read, and nothing to approve.
    expect(screen.queryAllByRole("button", { name: /alert 1$/ }).map((b) => b.textContent)).toEqual(["Open run", "Acknowledge"]);
    expect(screen.queryByRole("button", { name: "Review alert 1" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Review alert 2" }));
    const dialog = await screen.findByRole("dialog", { name: "Review interrupted run" });
    await waitFor(() => expect(dialog.textContent).toContain("the file holds only 5 rows"));
    expect(screen.getByTestId("not-approvable").textContent).toContain("Approving cannot help");
    expect(screen.queryByRole("button", { name: "Approve and run" })).toBeNull();
    expect(approved).toEqual([]);
  });
});

afterEach(() => {
  Reflect.deleteProperty(window, "Notification");
});
