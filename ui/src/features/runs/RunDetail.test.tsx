import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { RunDetail } from "./History";
import { plannedChanges } from "../../test/plans";

const run = {
  id: "r1", task_id: "t1", task: "HR/Nightly", kind: "scheduled", trigger: "manual", status: "failed",
  stage: null, ended_in: "load", planned_at: null, started_at: "2026-12-04T00:45:19Z", finished_at: "2026-12-04T00:45:21Z",
  run_type: "full", extract: { status: "succeeded", started: "2026-12-04T00:45:19Z", completed: "2026-12-04T00:45:20Z", info: "fetched 3 records" },
  load: { status: "failed", started: "2026-12-04T00:45:20Z", completed: "2026-12-04T00:45:21Z", info: "the target refused" },
  counts: { fetched: 3, valid: 3, blocked: 0, created: 0, updated: 0, unchanged: 0, removed: 0, failed: 3, takeovers: 0 },
  files: [{ kind: "output", path: "/data/runs/r1/output.json", size: 1234, holds: "the records the source produced" }],
  outcome: null, message: null,
};

describe("a run's detail", () => {
  it("saves a file where the native save dialog points, and searches the log", async () => {
    let copied: unknown = null;
    let asked: unknown = null;
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => run,
      run_log: () => "line one\nthe target refused card 7\nline three",
      run_undoable: () => false,
      choose_file_to_save: (args) => {
        asked = args;
        return "/home/me/output.json";
      },
      save_run_file: (args) => {
        copied = args;
        return 1234;
      },
    });
    expect((await screen.findByTestId("run-counts")).textContent).toContain("failed 3");
    // The execution id and each stage's times, as the history columns people know.
    expect(screen.getByTestId("run-id").textContent).toBe("r1");
    const at = (iso: string) => new Date(iso).toLocaleString();
    expect(screen.getByTestId("extract-times").textContent).toBe(`${at("2026-12-04T00:45:19Z")} / ${at("2026-12-04T00:45:20Z")}`);
    expect(screen.getByTestId("load-times").textContent).toBe(`${at("2026-12-04T00:45:20Z")} / ${at("2026-12-04T00:45:21Z")}`);
    fireEvent.click(screen.getByRole("button", { name: "Save output file" }));
    await screen.findByText("Saved to /home/me/output.json");
    expect(copied).toEqual({ id: "r1", kind: "output", destination: "/home/me/output.json" });
    expect(JSON.stringify(asked)).toContain("output.json");
    await waitFor(() => expect(screen.getByTestId("run-log").textContent).toContain("line three"));
    fireEvent.change(screen.getByLabelText("Search the log"), { target: { value: "refused" } });
    expect(screen.getByTestId("run-log").textContent).toBe("the target refused card 7");
    fireEvent.change(screen.getByLabelText("Search the log"), { target: { value: "nowhere" } });
    expect(screen.getByTestId("run-log").textContent).toBe("No line of the log holds “nowhere”.");
    expect(screen.queryByRole("button", { name: "Undo this run…" }), "a failed run that wrote nothing").toBeNull();
  });

  it("offers no undo for a run that changed no card (a quiet day)", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({ ...run, status: "succeeded", ended_in: null }),
      run_log: () => "",
      run_undoable: (args) => {
        asked.push(args);
        return false;
      },
    });
    await waitFor(() => expect(asked).toEqual([{ runId: "r1" }]));
    await screen.findByTestId("run-log");
    expect(screen.queryByRole("button", { name: "Undo this run…" })).toBeNull();
  });

  it("says there is nothing to undo when every card already holds its values from before", async () => {
    const calls: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({ ...run, status: "succeeded", ended_in: null }),
      run_log: () => "",
      run_undoable: () => true,
      undo_run: (args) => {
        calls.push(args);
        return { run_id: "r1", task: "HR/Nightly", dry_run: true, steps: [], undo_run_id: null };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Undo this run…" }));
    await screen.findByText(/there is nothing to undo/);
    // An empty log says so, rather than showing an empty box.
    expect(screen.getByTestId("run-log").textContent).toBe("The run wrote no log lines.");
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(calls).toEqual([{ runId: "r1", dryRun: true, force: false }]);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("offers to undo a failed run whose confirmed writes the journal holds (a remote target keeps them)", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => run,
      run_log: () => "",
      run_undoable: (args) => {
        asked.push(args);
        return true;
      },
    });
    expect(await screen.findByRole("button", { name: "Undo this run…" })).toBeTruthy();
    expect(asked).toEqual([{ runId: "r1" }]);
  });

  it("undoes a succeeded run after showing its plan, and asks once more in production", async () => {
    const calls: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({ ...run, status: "succeeded", ended_in: null }),
      run_log: () => "",
      engine_status: () => ({ version: "0", data_dir: "/d", environment_type: "prod", scheduler: null, secure_access: "none" }),
      run_undoable: () => true,
      undo_run: (args) => {
        calls.push(args);
        return {
          run_id: "r1", task: "HR/Nightly", dry_run: args.dryRun,
          steps: [
            { card_id: 7, object_id: "E-7", holds: [{ field: "first_name", value: "Jane" }], action: "set back", changes: [{ field: "last_name", from: "X", to: "Doe" }], conflict: null },
            { card_id: 8, action: "set back", changes: [{ field: "last_name", from: "Y", to: "Roe" }], conflict: "changed again since: last_name" },
          ],
          undo_run_id: args.dryRun ? null : "u1234567890",
        };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Undo this run…" }));
    const plan = await screen.findByTestId("undo-plan");
    // Whose card each is, as the review of a plan names it; a card without a key by its number.
    expect(plan.textContent).toContain("E-7 (card 7: first_name Jane): set back — last_name: X → Doe");
    expect(plan.textContent).toContain("Card 8: set back — last_name: Y → Roe");
    expect(screen.getByText(/changes 1 card back; 1 card in conflict is skipped/)).toBeTruthy();
    expect(plan.textContent).toContain("conflict: changed again since: last_name");
    expect(calls).toEqual([{ runId: "r1", dryRun: true, force: false }]);
    fireEvent.click(screen.getByRole("button", { name: "Undo in production…" }));
    await screen.findByText(/This is a production installation/);
    expect(calls.length).toBe(1);
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    await screen.findByTestId("undo-done");
    expect(calls[1]).toEqual({ runId: "r1", dryRun: false, force: false });
  });

  it("reviews and approves an interrupted run from its detail, its alert seen or not", async () => {
    const approved: unknown[] = [];
    const planned: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({ ...run, status: "interrupted", ended_in: "load" }),
      run_log: () => "",
      run_undoable: () => false,
      run_help: () => "approve_plan",
      planned_changes: ({ runId }) => {
        planned.push(runId);
        return plannedChanges({
          help: "approve_plan", run_id: String(runId), task_id: "t1", task: "HR/Nightly",
          reason: "3 planned changes (0 new, 3 changed, 0 removals) exceed the update limit of 1",
          new: 0, changed: 3, removals: 0, removed_object_ids: [], removed_cards: [], changed_object_ids: [], cards_unread: null,
          changed_cards: [{ object_id: "E-1", card_id: 11, changes: [{ field: "last_name", from: "Doe", to: "DOE" }], holds: [] }],
        });
      },
      approve_run: ({ runId }) => {
        approved.push(runId);
        return { id: "new-run-1234", task_id: "t1", task: "HR/Nightly", status: "running" };
      },
    });
    const review = await screen.findByRole("button", { name: "Review and approve…" });
    expect(planned, "the plan's cards are read from the target when the review opens, not to label its button").toEqual([]);
    fireEvent.click(review);
    await screen.findByRole("dialog", { name: "Approve interrupted run" });
    expect((await screen.findByTestId("planned-changed")).textContent).toBe("E-1 (card 11) — last_name: Doe → DOE");
    fireEvent.click(screen.getByRole("button", { name: "Approve and run" }));
    expect(await screen.findByText("Approved: run new-run- started.")).toBeTruthy();
    expect(approved).toEqual(["r1"]);
  });

  it("offers no review for a failed run", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => run,
      run_log: () => "",
      run_undoable: () => false,
      run_help: (args) => {
        asked.push(args);
        return null;
      },
      planned_changes: (args) => {
        asked.push(args);
        return null;
      },
    });
    await screen.findByTestId("run-counts");
    expect(screen.queryByRole("button", { name: /^Review/ })).toBeNull();
    expect(asked, "a failed run has no plan to ask for").toEqual([]);
  });

  it("names each of a held run's files apart, with what the engine says it holds", async () => {
    const saved: unknown[] = [];
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({
        ...run,
        status: "succeeded",
        files: [
          { kind: "held", path: "/data/runs/r1/held.json", size: 120, holds: "what the run held over the update limit" },
          { kind: "held-changes", path: "/data/runs/r1/held-changes.spill", size: 2048, holds: "the held changed cards, with the values applying writes" },
        ],
      }),
      run_log: () => "",
      run_undoable: () => false,
      run_help: () => null,
      choose_file_to_save: () => "/home/me/held-cards.txt",
      save_run_file: (args) => {
        saved.push(args);
        return 2048;
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Save held-changes file" }));
    expect(screen.getByRole("button", { name: "Save held file" })).toBeTruthy();
    expect(screen.getByText("the held changed cards, with the values applying writes")).toBeTruthy();
    await screen.findByText("Saved to /home/me/held-cards.txt");
    expect(saved).toEqual([{ id: "r1", kind: "held-changes", destination: "/home/me/held-cards.txt" }]);
  });

  it("says why a review lists keys only when the target cannot be read", async () => {
    renderWithEngine(<RunDetail runId="r1" taskId="t1" taskName="Nightly" open={() => {}} />, {
      get_run: () => ({ ...run, status: "succeeded", counts: { ...run.counts, held: 2 } }),
      run_log: () => "",
      run_undoable: () => false,
      run_help: () => "apply_held",
      planned_changes: ({ runId }) => plannedChanges({
        help: "apply_held", run_id: String(runId), task_id: "t1", task: "HR/Nightly", reason: "2 removals over the update limit of 1",
        new: 0, changed: 0, removals: 2, removed_object_ids: ["E-4", "E-5"], removed_cards: [], changed_object_ids: [], changed_cards: [],
        cards_unread: "the ESM at https://esm.example.test refused the sign-in (401)",
      }),
    });
    fireEvent.click(await screen.findByRole("button", { name: "Review held changes…" }));
    expect((await screen.findByTestId("cards-unread")).textContent).toContain("refused the sign-in (401)");
    expect(screen.getByTestId("planned-removals").textContent).toBe("E-4\nE-5");
  });
});
