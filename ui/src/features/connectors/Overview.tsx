import { useMemo, useState, type Dispatch, type SetStateAction } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage, isErrorBody } from "../../api";
import type { ConnectorSummary, TaskSummary } from "../../bindings";
import { choosePackage, ExportDialog, ImportDialog } from "../packages/Packages";
import { Confirm } from "../../components/Confirm";
import { STATUS_TEXT, StatusLight } from "../../components/StatusLight";
import { VirtualTable, type Column } from "../../components/VirtualTable";
import type { Open } from "../../navigation";
import { TasksPanel } from "../tasks/TasksPanel";
import { TYPE_LABEL, count, plural } from "../../format";
import { configurationKeys, invalidate, queryKeys, runKeys } from "../../queryKeys";

export const connectorsQuery = { queryKey: queryKeys.connectors.all(), queryFn: () => api.listConnectors() };

/** Which connectors show their tasks, kept by the window while it is open (see `Overview`'s `opened`). */
export type Opened = [ReadonlySet<string>, Dispatch<SetStateAction<ReadonlySet<string>>>];

/**
 * The connectors table: status lights, search over every column, selection,
 * tasks on expanding. `opened`: the expanded connectors, kept by the window,
 * so that coming back from a task's editor or history finds them still open.
 */
export function Overview({ open, opened }: { open: Open; opened?: Opened }) {
  const client = useQueryClient();
  const connectors = useQuery(connectorsQuery);
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const own = useState<ReadonlySet<string>>(new Set());
  const [expanded, setExpanded] = opened ?? own;
  const [removing, setRemoving] = useState<ConnectorSummary[] | null>(null);
  const [exporting, setExporting] = useState<ConnectorSummary[] | null>(null);
  const [importing, setImporting] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const engine = useQuery({ queryKey: queryKeys.engineStatus(), queryFn: () => api.engineStatus() });
  const prod = engine.data?.environment_type === "prod";
  const list = useMemo(() => connectors.data ?? [], [connectors.data]);

  const toggle = (set: ReadonlySet<string>, id: string) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  };

  const copy = useMutation({
    mutationFn: (c: ConnectorSummary) => api.copyConnector(c.id, null),
    onSettled: () => client.invalidateQueries({ queryKey: queryKeys.connectors.all() }),
  });

  const columns = useMemo<Column<ConnectorSummary>[]>(
    () => [
      {
        id: "select",
        meta: { width: "36px" },
        header: () => (
          <input
            type="checkbox"
            aria-label="Select all connectors"
            checked={list.length > 0 && selected.size === list.length}
            onChange={(e) => setSelected(e.target.checked ? new Set(list.map((c) => c.id)) : new Set())}
          />
        ),
        cell: ({ row }) => (
          <input
            type="checkbox"
            aria-label={`Select ${row.original.name}`}
            checked={selected.has(row.original.id)}
            onChange={() => setSelected((s) => toggle(s, row.original.id))}
          />
        ),
      },
      {
        id: "expand",
        meta: { width: "36px" },
        header: () => <span className="sr-only">Tasks</span>,
        cell: ({ row }) => {
          const open = expanded.has(row.original.id);
          return (
            <button
              type="button"
              className="icon"
              aria-label={`Tasks of ${row.original.name}`}
              aria-expanded={open}
              onClick={() => setExpanded((s) => toggle(s, row.original.id))}
            >
              {open ? "▾" : "▸"}
            </button>
          );
        },
      },
      {
        id: "id",
        header: "Id",
        meta: { width: "90px" },
        accessorFn: (c) => c.id.slice(0, 8),
        cell: (i) => <span className="mono">{String(i.getValue())}</span>,
      },
      {
        id: "status",
        header: "Status",
        meta: { width: "72px" },
        accessorFn: (c) => STATUS_TEXT[c.status],
        cell: ({ row }) => <StatusLight status={row.original.status} />,
      },
      {
        id: "name",
        header: "Name",
        meta: { width: "minmax(160px, 2fr)" },
        accessorFn: (c) => c.name,
        cell: (i) => <span className="connector-name">{String(i.getValue())}</span>,
      },
      { id: "type", header: "Type", accessorFn: (c) => TYPE_LABEL[c.type] },
      { id: "scheduled", header: "Scheduled", meta: { width: "100px" }, accessorFn: (c) => c.scheduled_count },
      { id: "event", header: "Event", meta: { width: "70px" }, accessorFn: (c) => c.event_count },
      {
        id: "manage",
        header: "Manage",
        meta: { width: "200px" },
        cell: ({ row }) => (
          <span className="actions-inline">
            <button type="button" aria-label={`Edit connector ${row.original.name}`} onClick={() => open({ kind: "connector", id: row.original.id })}>
              Edit
            </button>
            <button type="button" aria-label={`Copy connector ${row.original.name}`} onClick={() => copy.mutate(row.original)}>
              Copy
            </button>
            <button type="button" aria-label={`Remove connector ${row.original.name}`} onClick={() => setRemoving([row.original])}>
              Remove
            </button>
          </span>
        ),
      },
    ],
    [list, selected, expanded, setExpanded, open, copy],
  );

  const error = connectors.error ?? copy.error;
  return (
    <section aria-label="Connectors">
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search connectors"
          aria-label="Search connectors"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="button" className="primary" onClick={() => open({ kind: "connector", id: null })}>
          New connector
        </button>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => setRemoving(list.filter((c) => selected.has(c.id)))}
        >
          Remove selected
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => setExporting(list.filter((c) => selected.has(c.id)))}>
          Export selected…
        </button>
        <button
          type="button"
          onClick={() => {
            setDone(null);
            void choosePackage().then(setImporting);
          }}
        >
          Import…
        </button>
        <button type="button" onClick={() => void connectors.refetch()}>
          Refresh
        </button>
      </div>
      {error && <div className="banner error">{errorMessage(error)}</div>}
      {done && (
        <div className="banner notice" role="status">
          {done}
        </div>
      )}
      <VirtualTable
        label="Connectors"
        data={list}
        columns={columns}
        rowId={(c) => c.id}
        filter={query}
        rowTestId="connector-row"
        height={620}
        renderExpanded={(c) => (expanded.has(c.id) ? <TasksPanel connector={c} open={open} /> : null)}
        onActivate={(c) => open({ kind: "connector", id: c.id })}
        empty={
          connectors.isPending
            ? "Loading…"
            : list.length === 0
              ? "No connectors yet. Choose New connector to create one from a script in the library."
              : "No connector matches the search."
        }
      />
      {exporting && (
        <ExportDialog
          connectors={exporting}
          onClose={(summary) => {
            setExporting(null);
            if (summary)
              setDone(`Exported ${summary.connectors.length} connectors and ${summary.tasks} tasks to ${summary.path} (${count(summary.bytes)} bytes).`);
          }}
        />
      )}
      {importing && (
        <ImportDialog
          path={importing}
          prod={prod}
          onClose={(applied) => {
            setImporting(null);
            if (applied) setDone(`Imported ${applied.connectors.map((c) => `${c.name} (${c.action})`).join(", ")}.`);
          }}
        />
      )}
      {removing && (
        <RemoveConnectors
          connectors={removing}
          onDone={() => {
            setRemoving(null);
            setSelected(new Set());
          }}
        />
      )}
    </section>
  );
}

/** Lists what removing the connectors takes with it (tasks, workflow references), then removes. */
function RemoveConnectors({ connectors, onDone }: { connectors: ConnectorSummary[]; onDone: () => void }) {
  const client = useQueryClient();
  const ids = new Set(connectors.map((c) => c.id));
  const tasks = useQuery({ queryKey: queryKeys.tasks.of(null), queryFn: () => api.listTasks(null) });
  const theirs = (tasks.data ?? []).filter((t) => ids.has(t.connector_id));
  // Refused while workflows call their event tasks (the engine names them); then "Remove anyway" forces.
  const remove = useMutation({
    mutationFn: async (force: boolean) => {
      for (const c of connectors) await api.removeConnector(c.id, force);
    },
    onSettled: () => invalidate(client, ...configurationKeys(), ...runKeys()),
    onSuccess: onDone,
  });
  const inUse = isErrorBody(remove.error) && remove.error.code === "in_use";
  return (
    <Confirm title="Remove connectors" action={inUse ? "Remove anyway" : "Remove"} onCancel={onDone} onConfirm={() => remove.mutate(inUse)}>
      <p>These connectors and everything that belongs to them will be removed:</p>
      <ul data-testid="removal-references">
        {connectors.map((c) => (
          <li key={c.id}>
            <strong>{c.name}</strong>
            {referencesOf(theirs.filter((t) => t.connector_id === c.id))}
          </li>
        ))}
      </ul>
      {tasks.isPending && <p>Computing references…</p>}
      {remove.error && <div className="banner error">{errorMessage(remove.error)}</div>}
    </Confirm>
  );
}

function referencesOf(tasks: TaskSummary[]): string {
  if (tasks.length === 0) return ": no tasks";
  const used = tasks.filter((t) => t.reference_count > 0);
  const parts = [`${plural(tasks.length, "task")} (${tasks.map((t) => t.name).join(", ")})`];
  if (used.length > 0) {
    parts.push(`workflows still call ${used.map((t) => `${t.name} (${t.reference_count} references)`).join(", ")}`);
  }
  return `: ${parts.join("; ")}`;
}
