import { useState, type MouseEvent } from "react";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage, isErrorBody } from "../../api";
import type { ConnectorSummary, TaskSummary } from "../../bindings";
import { inZone, stageText, when } from "../../format";
import { Confirm } from "../../components/Confirm";
import { onRowControl } from "../../components/VirtualTable";
import type { Open } from "../../navigation";
import { configurationKeys, invalidate, queryKeys } from "../../queryKeys";

export const tasksQuery = (connectorId: string) => ({
  queryKey: queryKeys.tasks.of(connectorId),
  queryFn: () => api.listTasks(connectorId),
});

/** A connector's scheduled and event tasks, shown when its row is expanded. */
export function TasksPanel({ connector, open }: { connector: ConnectorSummary; open: Open }) {
  const client = useQueryClient();
  const tasks = useQuery(tasksQuery(connector.id));
  const [search, setSearch] = useState("");
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [removing, setRemoving] = useState<TaskSummary[] | null>(null);
  const [showRefs, setShowRefs] = useState(false);
  const all = tasks.data ?? [];
  const q = search.trim().toLowerCase();
  // Every word the table shows is searchable: Enabled (yes / no) and the status words too.
  const shown = (t: TaskSummary) => [
    t.id,
    t.name,
    t.schedule ?? "",
    t.target_template,
    t.enabled ? "yes enabled" : "no disabled",
    stageText(t.last_run?.extract),
    stageText(t.last_run?.load),
  ];
  const scheduled = all
    .filter((t) => t.usage === "scheduled")
    .filter((t) => !q || shown(t).some((v) => v.toLowerCase().includes(q)));
  const eventTasks = all.filter((t) => t.usage === "event");
  const refresh = () => void client.invalidateQueries({ queryKey: queryKeys.tasks.of(connector.id) });
  const copy = useMutation({
    mutationFn: (t: TaskSummary) => api.copyTask(t.id, null),
    onSettled: () => invalidate(client, ...configurationKeys()),
  });
  const pick = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const chosen = (list: TaskSummary[]) => list.filter((t) => selected.has(t.id));
  const edit = (t: TaskSummary) => open({ kind: "task", connectorId: connector.id, taskId: t.id, usage: t.usage });
  // A double click on a row opens its editor; one on a control in the row is the control's.
  const onRow = (t: TaskSummary) => (e: MouseEvent) => {
    if (!onRowControl(e.target)) edit(t);
  };

  return (
    <div className="tasks-panel" role="region" aria-label={`Tasks of ${connector.name}`}>
      {(tasks.error ?? copy.error) && <div className="banner error">{errorMessage(tasks.error ?? copy.error)}</div>}
      <h3>Scheduled tasks</h3>
      <div className="toolbar">
        <input
          type="search"
          aria-label={`Search scheduled tasks of ${connector.name}`}
          placeholder="Search tasks"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="button" onClick={() => open({ kind: "task", connectorId: connector.id, taskId: null, usage: "scheduled" })}>
          New scheduled task
        </button>
        <button
          type="button"
          disabled={chosen(scheduled).length === 0}
          onClick={() => setRemoving(chosen(scheduled))}
        >
          Remove
        </button>
        <button type="button" onClick={refresh}>
          Refresh
        </button>
      </div>
      <table className="grid" aria-label={`Scheduled tasks of ${connector.name}`}>
        <thead>
          <tr>
            <th>
              <span className="sr-only">Select</span>
            </th>
            <th>Id</th>
            <th>Name</th>
            <th>Enabled</th>
            <th>Extract status</th>
            <th>Load status</th>
            <th>Next run</th>
            <th>Manage</th>
          </tr>
        </thead>
        <tbody>
          {scheduled.map((t) => (
            <tr key={t.id} data-testid="task-row" className={rowTone(t)} onDoubleClick={onRow(t)}>
              <td>
                <input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.id)} onChange={() => pick(t.id)} />
              </td>
              <td className="mono">{t.id.slice(0, 8)}</td>
              <td className="task-name">{t.name}</td>
              <td>{t.enabled ? "Yes" : "No"}</td>
              <td data-testid="extract-status">{stageText(t.last_run?.extract)}</td>
              <td data-testid="load-status">{stageText(t.last_run?.load)}</td>
              {/* In the task's time zone, as its schedule is kept: the computer showing it may be in another. */}
              <td data-testid="next-run">{!t.enabled ? "disabled" : t.next_run ? inZone(t.next_run, t.timezone) : "—"}</td>
              <td className="actions-inline">
                <button type="button" aria-label={`Edit ${t.name}`} onClick={() => open({ kind: "task", connectorId: connector.id, taskId: t.id, usage: "scheduled" })}>
                  Edit
                </button>
                <button type="button" aria-label={`Copy ${t.name}`} onClick={() => copy.mutate(t)}>
                  Copy
                </button>
                <button type="button" aria-label={`History of ${t.name}`} onClick={() => open({ kind: "history", taskId: t.id, taskName: t.name })}>
                  History
                </button>
                <button type="button" aria-label={`Remove ${t.name}`} onClick={() => setRemoving([t])}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!tasks.isPending && scheduled.length === 0 && (
        <p className="empty">{q ? "No scheduled task matches the search." : "No scheduled task yet: choose New scheduled task."}</p>
      )}

      <h3>Event tasks</h3>
      <div className="toolbar">
        <button type="button" onClick={() => open({ kind: "task", connectorId: connector.id, taskId: null, usage: "event" })}>
          New event task
        </button>
        <button
          type="button"
          disabled={chosen(eventTasks).length === 0}
          onClick={() => setRemoving(chosen(eventTasks))}
        >
          Remove
        </button>
        <button type="button" onClick={refresh}>
          Refresh
        </button>
        <button type="button" aria-pressed={showRefs} onClick={() => setShowRefs((v) => !v)}>
          Show references
        </button>
      </div>
      <table className="grid" aria-label={`Event tasks of ${connector.name}`}>
        <thead>
          <tr>
            <th>
              <span className="sr-only">Select</span>
            </th>
            <th>Id</th>
            <th>Name</th>
            <th>Workflow references</th>
            <th>Workflow status</th>
            <th>Manage</th>
          </tr>
        </thead>
        <tbody>
          {eventTasks.map((t) => (
            <tr key={t.id} data-testid="event-task-row" onDoubleClick={onRow(t)}>
              <td>
                <input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.id)} onChange={() => pick(t.id)} />
              </td>
              <td className="mono">{t.id.slice(0, 8)}</td>
              <td className="task-name">{t.name}</td>
              <td>{t.reference_count}</td>
              <td>{t.reference_count > 0 ? "In use" : "Not used"}</td>
              <td className="actions-inline">
                <button type="button" aria-label={`Edit ${t.name}`} onClick={() => edit(t)}>
                  Edit
                </button>
                <button type="button" aria-label={`Copy ${t.name}`} onClick={() => copy.mutate(t)}>
                  Copy
                </button>
                <button type="button" aria-label={`History of ${t.name}`} onClick={() => open({ kind: "history", taskId: t.id, taskName: t.name })}>
                  History
                </button>
                <button type="button" aria-label={`Remove ${t.name}`} onClick={() => setRemoving([t])}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!tasks.isPending && eventTasks.length === 0 && <p className="empty">No event task yet: choose New event task.</p>}
      {showRefs && eventTasks.length > 0 && <References tasks={eventTasks} />}
      {removing && (
        <RemoveTasks
          tasks={removing}
          onDone={() => {
            setRemoving(null);
            setSelected(new Set());
          }}
        />
      )}
    </div>
  );
}

function rowTone(t: TaskSummary): string {
  if (!t.last_run) return "";
  return t.last_run.status === "succeeded" ? "ok" : "bad";
}

/** Every caller of the event tasks: first and last use and how often. */
function References({ tasks }: { tasks: TaskSummary[] }) {
  const full = useQueries({ queries: tasks.map((t) => ({ queryKey: queryKeys.tasks.one(t.id), queryFn: () => api.getTask(t.id) })) });
  return (
    <table className="grid" aria-label="Workflow references">
      <thead>
        <tr>
          <th>Task</th>
          <th>Caller</th>
          <th>First used</th>
          <th>Last used</th>
          <th>Count</th>
        </tr>
      </thead>
      <tbody>
        {full.flatMap((q) =>
          (q.data?.references ?? []).map((r) => (
            <tr key={`${q.data?.id}-${r.caller}`}>
              <td>{q.data?.name}</td>
              <td>{r.caller}{r.declared ? " (declared)" : ""}</td>
              <td>{when(r.first_used)}</td>
              <td>{when(r.last_used)}</td>
              <td>{r.count}</td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

function RemoveTasks({ tasks, onDone }: { tasks: TaskSummary[]; onDone: () => void }) {
  const client = useQueryClient();
  // Refused while workflows call a task (the engine names them); then "Remove anyway" forces.
  const remove = useMutation({
    mutationFn: async (force: boolean) => {
      for (const t of tasks) await api.removeTask(t.id, force);
    },
    onSettled: () => invalidate(client, ...configurationKeys()),
    onSuccess: onDone,
  });
  const inUse = isErrorBody(remove.error) && remove.error.code === "in_use";
  return (
    <Confirm title="Remove tasks" action={inUse ? "Remove anyway" : "Remove"} onCancel={onDone} onConfirm={() => remove.mutate(inUse)}>
      <p>These tasks and their run history will be removed:</p>
      <ul>
        {tasks.map((t) => (
          <li key={t.id}>
            {t.name}
            {t.reference_count > 0 ? ` (workflows still call it: ${t.reference_count} references)` : ""}
          </li>
        ))}
      </ul>
      {remove.error && <div className="banner error">{errorMessage(remove.error)}</div>}
    </Confirm>
  );
}
