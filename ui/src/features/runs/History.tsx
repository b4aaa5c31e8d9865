import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { chooseFileToSave } from "../../dialogs";
import { api, errorMessage } from "../../api";
import type { Run, RunFile, RunStatus } from "../../bindings";
import { ApproveRun, REVIEWS } from "../../components/ApproveRun";
import { Confirm } from "../../components/Confirm";
import { RunsChart } from "./RunsChart";
import { VirtualTable, type Column } from "../../components/VirtualTable";
import { progressText, useProgress } from "../../progress";
import { cardText, changesText, countsText, plural, when } from "../../format";
import type { Open } from "../../navigation";
import { invalidate, queryKeys, runKeys } from "../../queryKeys";

const STATUSES: RunStatus[] = ["running", "succeeded", "failed", "interrupted", "stopped", "skipped"];

/** A task's runs, newest first; green and red rows; filter by status and date. */
export function History({ taskId, taskName, open }: { taskId: string; taskName: string; open: Open }) {
  const history = useQuery({ queryKey: queryKeys.runs.historyOf(taskId), queryFn: () => api.taskHistory(taskId, 1000) });
  const progress = useProgress();
  const [status, setStatus] = useState<RunStatus | "">("");
  const [from, setFrom] = useState("");
  const runs = useMemo(
    () =>
      (history.data ?? []).filter(
        (r) => (!status || r.status === status) && (!from || r.started_at.slice(0, 10) >= from),
      ),
    [history.data, status, from],
  );
  const live = [...progress.values()].filter((p) => p.task_id === taskId && p.status === "running");
  // The manual's history columns, narrow enough for the window: the stage
  // times as times of day (the date is in Started); planned and finished
  // times are in the run's detail. Detail comes first, always in reach; the
  // counts come last and wrap rather than being cut.
  const columns = useMemo<Column<Run>[]>(
    () => [
      {
        id: "open",
        header: "Detail",
        meta: { width: "72px" },
        cell: ({ row }) => (
          <button type="button" aria-label={`Open run of ${when(row.original.started_at)}`} onClick={() => open({ kind: "run", runId: row.original.id, taskId, taskName })}>
            Open
          </button>
        ),
      },
      { id: "execution", header: "Execution id", meta: { width: "96px" }, accessorFn: (r) => r.id.slice(0, 8) },
      { id: "status", header: "Status", meta: { width: "100px" }, accessorFn: (r) => r.status },
      { id: "trigger", header: "Trigger", meta: { width: "76px" }, accessorFn: (r) => r.trigger },
      { id: "type", header: "Run type", meta: { width: "68px" }, accessorFn: (r) => (r.run_type === "not_run" ? "—" : r.run_type) },
      { id: "started", header: "Started", meta: { width: "148px" }, accessorFn: (r) => shortWhen(r.started_at) },
      { id: "extract", header: "Extract", meta: { width: "100px" }, accessorFn: (r) => r.extract.status ?? "—" },
      { id: "extractDone", header: "Extract complete", meta: { width: "112px" }, accessorFn: (r) => timeOf(r.extract.completed) },
      { id: "load", header: "Load", meta: { width: "100px" }, accessorFn: (r) => r.load.status ?? "—" },
      { id: "loadStart", header: "Load start", meta: { width: "112px" }, accessorFn: (r) => timeOf(r.load.started) },
      { id: "loadDone", header: "Load complete", meta: { width: "112px" }, accessorFn: (r) => timeOf(r.load.completed) },
      // The counts in the run detail's words, only those above zero: a quiet
      // run after a cache clear reads "fetched 150,000, unchanged 150,000".
      { id: "counts", header: "Counts", meta: { width: "minmax(140px, 1fr)", wrap: true }, accessorFn: (r) => countsText(r.counts, true) },
    ],
    [open, taskId, taskName],
  );
  return (
    <section aria-label={`History of ${taskName}`} className="editor">
      <div className="editor-bar">
        <button type="button" onClick={() => open({ kind: "overview" })}>
          ← Overview
        </button>
        <h2>History of {taskName}</h2>
        <button type="button" onClick={() => void history.refetch()}>
          Refresh
        </button>
      </div>
      {live.map((p) => (
        <div key={p.run_id} className="banner notice" role="status" data-testid="run-progress">
          {progressText(p)}
        </div>
      ))}
      <div className="toolbar">
        <label>
          Status{" "}
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as RunStatus | "")}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          From{" "}
          <input type="date" aria-label="From date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
      </div>
      {history.error && <div className="banner error">{errorMessage(history.error)}</div>}
      <RunsChart runs={history.data ?? []} />
      <VirtualTable
        label={`Runs of ${taskName}`}
        data={runs}
        columns={columns}
        rowId={(r) => r.id}
        rowTestId="history-row"
        rowClass={(r) => (r.status === "succeeded" ? "ok" : r.status === "running" || r.status === "skipped" ? "" : "bad")}
        onActivate={(r) => open({ kind: "run", runId: r.id, taskId, taskName })}
        empty={history.isPending ? "Loading…" : "No runs yet: Run now in the task editor starts one."}
      />
    </section>
  );
}

/** A date and time in short form, for a narrow column. */
function shortWhen(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/** A time of day (the history row's date is in its Started column). */
function timeOf(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

/** A run's detail: extract and load info, counts, the log (searchable), its files. */
export function RunDetail({ runId, taskId, taskName, open }: { runId: string; taskId: string; taskName: string; open: Open }) {
  const run = useQuery({ queryKey: queryKeys.runs.one(runId), queryFn: () => api.getRun(runId) });
  const log = useQuery({ queryKey: queryKeys.runs.log(runId), queryFn: () => api.runLog(runId) });
  const progress = useProgress().get(runId);
  const [search, setSearch] = useState("");
  const lines = (log.data ?? "").split("\n").filter((l) => !search || l.toLowerCase().includes(search.toLowerCase()));
  const saveFile = useMutation({
    mutationFn: async (f: RunFile) => {
      const name = f.path.split(/[\\/]/).pop() ?? f.kind;
      const to = await chooseFileToSave({ title: `Save the ${f.kind} file`, defaultPath: name });
      if (!to) return null;
      await api.saveRunFile(runId, f.kind, to);
      return to;
    },
  });
  const r = run.data;
  // Undo is offered where it can help: a run that changed cards the journal knows of (a run that
  // failed into a remote target may have left confirmed writes; a quiet run changed nothing).
  const ended = r !== undefined && r.status !== "running" && r.kind !== "event";
  const undoable = useQuery({ queryKey: queryKeys.runs.undoable(runId), queryFn: () => api.runUndoable(runId), enabled: ended });
  // An interrupted run, or one holding changes, is reviewed here as from its alert (which may be acknowledged already).
  const reviewable = r !== undefined && r.kind === "scheduled" && (r.status === "interrupted" || (r.status === "succeeded" && (r.counts.held ?? 0) > 0));
  // Only what helps: the plan's cards are read from the target when the review opens.
  const helps = useQuery({ queryKey: queryKeys.runs.help(runId), queryFn: () => api.runHelp(runId), enabled: reviewable });
  const help = reviewable ? (helps.data ?? undefined) : undefined;
  const review = help ? REVIEWS[help]?.button : undefined;
  const [reviewing, setReviewing] = useState(false);
  return (
    <section aria-label="Run detail" className="editor">
      <div className="editor-bar">
        <button type="button" onClick={() => open({ kind: "history", taskId, taskName })}>
          ← History of {taskName}
        </button>
        <h2>Run {r ? when(r.started_at) : ""}</h2>
        {r && review && (
          <button type="button" onClick={() => setReviewing(true)}>
            {review}
          </button>
        )}
        {ended && (undoable.data ?? false) && <UndoRun runId={runId} />}
      </div>
      {reviewing && r && help && <ApproveRun runId={runId} task={r.task} help={help} onClose={() => setReviewing(false)} />}
      {progress?.status === "running" && (
        <div className="banner notice" role="status" data-testid="run-progress">
          {progressText(progress)}
        </div>
      )}
      {(run.error ?? saveFile.error) && <div className="banner error">{errorMessage(run.error ?? saveFile.error)}</div>}
      {saveFile.data && <div className="banner notice">Saved to {saveFile.data}</div>}
      {r && (
        <div className="detail-grid">
          <dl>
            <dt>Execution id</dt>
            <dd className="mono" data-testid="run-id">{r.id}</dd>
            <dt>Status</dt>
            <dd data-testid="run-status">
              {r.status}
              {r.ended_in ? ` (in the ${r.ended_in} stage)` : ""}
            </dd>
            {r.message && (
              <>
                <dt>Message</dt>
                <dd data-testid="run-message">{r.message}</dd>
              </>
            )}
            <dt>Planned / started / finished</dt>
            <dd>
              {when(r.planned_at)} / {when(r.started_at)} / {when(r.finished_at)}
            </dd>
            <dt>Extract</dt>
            <dd>{r.extract.status ?? "—"}: {r.extract.info ?? ""}</dd>
            <dt>Extract start / complete</dt>
            <dd data-testid="extract-times">
              {when(r.extract.started)} / {when(r.extract.completed)}
            </dd>
            <dt>Load</dt>
            <dd>{r.load.status ?? "—"}: {r.load.info ?? ""}</dd>
            <dt>Load start / complete</dt>
            <dd data-testid="load-times">
              {when(r.load.started)} / {when(r.load.completed)}
            </dd>
            <dt>Counts</dt>
            <dd data-testid="run-counts">
              {countsText(r.counts)}
            </dd>
          </dl>
          <div>
            <h3>Files</h3>
            <ul className="files">
              {r.files.map((f) => (
                <li key={f.kind}>
                  {f.kind} ({f.size.toLocaleString("en-US")} bytes){" "}
                  <button type="button" aria-label={`Save ${f.kind} file`} onClick={() => saveFile.mutate(f)}>
                    Save…
                  </button>
                  <div className="hint">{f.holds}</div>
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}
      <h3>Log</h3>
      <input type="search" aria-label="Search the log" placeholder="Search the log" value={search} onChange={(e) => setSearch(e.target.value)} />
      <pre className="log" tabIndex={0} aria-label="Run log" data-testid="run-log">
        {log.error
          ? errorMessage(log.error)
          : log.isPending
            ? "Loading…"
            : lines.some((l) => l !== "")
              ? lines.join("\n")
              : search
                ? `No line of the log holds “${search}”.`
                : "The run wrote no log lines."}
      </pre>
    </section>
  );
}

/**
 * "Undo this run…": the plan first, field by field (nothing changes), then
 * the undo; a production installation asks once more. Conflicts (fields a
 * later run changed again) are listed and skipped.
 */
function UndoRun({ runId }: { runId: string }) {
  const client = useQueryClient();
  const engine = useQuery({ queryKey: queryKeys.engineStatus(), queryFn: () => api.engineStatus() });
  const prod = engine.data?.environment_type === "prod";
  const [asked, setAsked] = useState(false);
  const [sure, setSure] = useState(false);
  const plan = useQuery({ queryKey: queryKeys.runs.undoPlan(runId), queryFn: () => api.undoRun(runId, true, false), enabled: asked });
  const apply = useMutation({
    mutationFn: () => api.undoRun(runId, false, false),
    // The undo is a run of its own and changes cards: history, the Data tab and the task's last run show it.
    onSuccess: () => void invalidate(client, ...runKeys()),
  });
  if (!asked) {
    return (
      <button type="button" onClick={() => setAsked(true)}>
        Undo this run…
      </button>
    );
  }
  const steps = plan.data?.steps ?? [];
  // A plan with no step: every card already holds its values from before.
  const nothing = plan.data !== undefined && steps.length === 0;
  const cards = (n: number) => plural(n, "card");
  const conflicts = steps.filter((s) => s.conflict).length;
  return (
    <Confirm
      title="Undo this run"
      action={apply.data || nothing ? "Close" : prod && !sure ? "Undo in production…" : "Undo"}
      onCancel={() => setAsked(false)}
      onConfirm={() => {
        if (apply.data || nothing) setAsked(false);
        else if (prod && !sure) setSure(true);
        else apply.mutate();
      }}
    >
      {plan.isPending && <p>Reading the journal…</p>}
      {plan.error && <div className="banner error">{errorMessage(plan.error)}</div>}
      {nothing && <p role="status">Every card this run changed holds its values from before already: there is nothing to undo.</p>}
      {plan.data && !nothing && (
        <>
          <p>
            Undoing this run of {plan.data.task} changes {cards(steps.filter((s) => !s.conflict).length)} back
            {conflicts > 0 ? `; ${cards(conflicts)} in conflict ${conflicts === 1 ? "is" : "are"} skipped` : ""}:
          </p>
          <ul className="undo-plan" data-testid="undo-plan">
            {steps.slice(0, 50).map((s) => (
              <li key={`${s.card_id}-${s.action}`}>
                {cardText(s)}: {s.action}
                {changesText(s.changes)}
                {s.conflict && <strong> (conflict: {s.conflict})</strong>}
              </li>
            ))}
            {steps.length > 50 && <li>… and {steps.length - 50} more</li>}
          </ul>
        </>
      )}
      {prod && sure && !apply.data && <div className="banner warning" role="note">This is a production installation: Undo once more to change its cards.</div>}
      {apply.error && <div className="banner error">{errorMessage(apply.error)}</div>}
      {apply.data && (
        <div className="banner notice" role="status" data-testid="undo-done">
          Undone: run {apply.data.undo_run_id?.slice(0, 8)} in history put the cards back (it can be undone too).
        </div>
      )}
    </Confirm>
  );
}
