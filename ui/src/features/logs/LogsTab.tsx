import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { LogLine } from "../../bindings";
import { VirtualTable, type Column } from "../../components/VirtualTable";
import { chooseFileToSave } from "../../dialogs";
import { connectorsQuery } from "../connectors/Overview";
import { queryKeys } from "../../queryKeys";
import { useRemembered } from "../../remembered";
import { useSettled } from "../../debounce";
import { count, logTime } from "../../format";

const LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
/** Lines the tab keeps on screen; older ones are in the files (and in a saved zip). */
const SHOWN = 2000;

/** The engine's own log: level filter, search, live tail; and the chosen sources saved as one zip. */
export function LogsTab() {
  const [level, setLevel] = useRemembered<(typeof LEVELS)[number]>("logs.level", "info");
  const [search, setSearch] = useRemembered("logs.search", "");
  const [tail, setTail] = useState(true);
  // Each answer reads the log files: asked once the typing settles, not per letter.
  const searched = useSettled(search.trim());
  const log = useQuery({
    queryKey: queryKeys.engineLog(level, searched),
    queryFn: () => api.engineLog(level, searched || null, SHOWN),
    refetchInterval: tail ? 2_000 : false,
    placeholderData: (previous) => previous,
  });
  // Newest first, so a live tail shows new lines at the top without scrolling.
  const lines = useMemo(() => [...(log.data ?? [])].reverse(), [log.data]);
  const columns = useMemo<Column<LogLine>[]>(
    () => [
      // The computer's clock, as the rest of the window; the line's own UTC time on hover (the saved files have that).
      { id: "time", header: "Time", meta: { width: "240px" }, accessorFn: (l) => l.time, cell: (i) => <span className="mono" title={`${String(i.getValue())} (UTC, as in the log file)`}>{logTime(String(i.getValue()))}</span> },
      { id: "level", header: "Level", meta: { width: "70px" }, accessorFn: (l) => l.level, cell: (i) => <span className={`level ${String(i.getValue())}`}>{String(i.getValue()).toUpperCase()}</span> },
      // The part of the product in words; the module path, for a problem report, on hover.
      { id: "source", header: "Source", meta: { width: "140px" }, accessorFn: (l) => l.source, cell: (i) => <span title={i.row.original.target}>{String(i.getValue())}</span> },
      // The whole message and its fields, wrapped: a log line cut at the column's edge lost its point.
      { id: "message", header: "Message", meta: { width: "minmax(200px, 2fr)", wrap: true }, accessorFn: (l) => l.message },
      { id: "detail", header: "Detail", meta: { width: "minmax(160px, 1fr)", wrap: true }, accessorFn: (l) => l.detail, cell: (i) => <span className="mono" title={String(i.getValue())}>{String(i.getValue())}</span> },
    ],
    [],
  );
  return (
    <section aria-label="Logs">
      <div className="toolbar">
        <label>
          Level{" "}
          <select aria-label="Level" value={level} onChange={(e) => setLevel(e.target.value as (typeof LEVELS)[number])}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and more severe
              </option>
            ))}
          </select>
        </label>
        <input type="search" aria-label="Search the log" placeholder="Search the log" value={search} onChange={(e) => setSearch(e.target.value)} />
        <label>
          <input type="checkbox" aria-label="Live tail" checked={tail} onChange={(e) => setTail(e.target.checked)} /> Live tail
        </label>
        <button type="button" onClick={() => void log.refetch()}>
          Refresh
        </button>
      </div>
      {log.error && <div className="banner error">{errorMessage(log.error)}</div>}
      <p className="hint">
        The engine&apos;s log of this data directory, newest first ({count(lines.length)} lines{lines.length === SHOWN ? `, the newest ${count(SHOWN)}` : ""}).
        {tail && " Refreshed every 2 seconds."}
      </p>
      <VirtualTable
        label="Engine log"
        data={lines}
        columns={columns}
        rowId={(l) => `${l.time}|${l.target}|${l.message}|${l.detail}`}
        rowTestId="log-row"
        rowClass={(l) => (l.level === "error" ? "bad" : l.level === "warn" ? "warn" : "")}
        height={420}
        empty={log.isPending ? "Loading…" : searched ? "No line matches the search at this level." : "The engine has written nothing at this level yet. Runs and settings changes write here."}
      />
      <SaveLogs />
    </section>
  );
}

/**
 * The manual's directory worker log: the runs of every directory connector
 * at once (its reads and writes are in each run's log). Empty, and said so,
 * when no directory is in use here.
 */
function DirectorySource({
  directories,
  chosen,
  setChosen,
}: {
  directories: string[];
  chosen: ReadonlySet<string>;
  setChosen: (update: (s: ReadonlySet<string>) => ReadonlySet<string>) => void;
}) {
  const all = directories.length > 0 && directories.every((id) => chosen.has(id));
  return (
    <label>
      <input
        type="checkbox"
        aria-label="Directory worker"
        disabled={directories.length === 0}
        checked={all}
        onChange={(e) =>
          setChosen((s) => {
            const next = new Set(s);
            for (const id of directories) {
              if (e.target.checked) next.add(id);
              else next.delete(id);
            }
            return next;
          })
        }
      />{" "}
      Directory worker (every directory connector&apos;s runs){directories.length === 0 ? ": no directory in use here" : ""}
    </label>
  );
}

/** Choose the sources, then one zip through the native save dialog. */
function SaveLogs() {
  const connectors = useQuery(connectorsQuery);
  const [engine, setEngine] = useState(true);
  const [host, setHost] = useState(true);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const save = useMutation({
    mutationFn: async () => {
      const to = await chooseFileToSave({ title: "Save the logs", defaultPath: "provisio-logs.zip", filters: [{ name: "Zip", extensions: ["zip"] }] });
      if (to === null) return null;
      return api.exportLogs(to, { engine, script_host: host, connectors: [...chosen] });
    },
  });
  const nothing = !engine && !host && chosen.size === 0;
  return (
    <fieldset className="sources" aria-label="Save logs">
      <legend>Save logs as one zip (secrets masked)</legend>
      <label>
        <input type="checkbox" checked={engine} onChange={(e) => setEngine(e.target.checked)} /> Engine log
      </label>
      <label>
        <input type="checkbox" checked={host} onChange={(e) => setHost(e.target.checked)} /> Script host (every run&apos;s process record)
      </label>
      <DirectorySource
        directories={(connectors.data ?? []).filter((c) => c.type === "ldap").map((c) => c.id)}
        chosen={chosen}
        setChosen={setChosen}
      />
      {(connectors.data ?? []).map((c) => (
        <label key={c.id}>
          <input
            type="checkbox"
            checked={chosen.has(c.id)}
            onChange={(e) =>
              setChosen((s) => {
                const next = new Set(s);
                if (e.target.checked) next.add(c.id);
                else next.delete(c.id);
                return next;
              })
            }
          />{" "}
          Run logs of {c.name}
        </label>
      ))}
      <div>
        <button type="button" className="primary" disabled={nothing || save.isPending} onClick={() => save.mutate()}>
          Save as zip…
        </button>
        {nothing && <span className="note">Choose at least one source.</span>}
        {save.isPending && <span className="note" role="status">Packing the logs…</span>}
      </div>
      {save.error && <div className="banner error">{errorMessage(save.error)}</div>}
      {save.data && (
        <div className="banner notice" role="status">
          Saved {save.data.entries.length} files ({count(save.data.bytes)} bytes) to {save.data.path}.
        </div>
      )}
    </fieldset>
  );
}
