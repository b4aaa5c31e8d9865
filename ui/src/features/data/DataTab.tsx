import { useMemo, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import { TemplateOptions } from "../../components/TemplateOptions";
import type { Datacard } from "../../bindings";
import { VirtualTable, type Column } from "../../components/VirtualTable";
import { count, plural, when } from "../../format";
import { queryKeys } from "../../queryKeys";
import { useRemembered } from "../../remembered";
import { useSettled } from "../../debounce";

/** Cards the tab lists without a search. */
const LIMIT = 100_000;
/** Cards a search shows at most (the engine looks through all of them). */
const FOUND = 1_000;

/** The local datacard store: pick a template and folder, search, see a card's values and its writer. */
export function DataTab() {
  const templates = useQuery({ queryKey: queryKeys.templates("local"), queryFn: () => api.listTemplates("local") });
  const folders = useQuery({ queryKey: queryKeys.folders("local"), queryFn: () => api.listFolders("local") });
  const tasks = useQuery({ queryKey: queryKeys.tasks.of(null), queryFn: () => api.listTasks(null) });
  const [template, setTemplate] = useRemembered("data.template", "");
  const [folder, setFolder] = useRemembered("data.folder", "");
  const [search, setSearch] = useRemembered("data.search", "");
  const [chosen, setChosen] = useState<Datacard | null>(null);
  // The engine searches every card of the template, however many (the list shows the first only).
  const searched = useSettled(search.trim(), 300);
  const cards = useQuery({
    queryKey: queryKeys.data.cards(template, folder, searched),
    queryFn: () => api.listDatacards(template, folder || null, searched || null, searched ? FOUND : LIMIT),
    enabled: template !== "",
    placeholderData: keepPreviousData,
  });
  const shown = cards.data?.length ?? 0;
  const tmpl = (templates.data ?? []).find((t) => t.code === template);
  const taskName = useMemo(() => {
    const names = new Map((tasks.data ?? []).map((t) => [t.id, `${t.connector_name} / ${t.name}`]));
    return (id: string | null) => (id ? (names.get(id) ?? `task ${id.slice(0, 8)} (removed)`) : "—");
  }, [tasks.data]);
  // The columns: the template's attributes that the first cards have values for (five at most).
  const shownKey = useMemo(() => {
    const sample = (cards.data ?? []).slice(0, 50).map((c) => (c.data ?? {}) as Record<string, unknown>);
    const filled = (tmpl?.attributes ?? []).filter((a) => sample.some((d) => d[a.code] !== undefined && d[a.code] !== null && d[a.code] !== ""));
    return (filled.length ? filled : (tmpl?.attributes ?? [])).slice(0, 5).map((a) => a.code).join("\n");
  }, [cards.data, tmpl]);
  const columns = useMemo<Column<Datacard>[]>(
    () => [
      { id: "id", header: "Id", meta: { width: "70px" }, accessorFn: (c) => c.id },
      ...(shownKey ? shownKey.split("\n") : []).map<Column<Datacard>>((code) => ({
        id: code,
        header: code,
        accessorFn: (c) => {
          const v = (c.data as Record<string, unknown> | null)?.[code];
          return v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
        },
      })),
      { id: "folder", header: "Folder", accessorFn: (c) => c.folder },
      { id: "task", header: "Written by", accessorFn: (c) => taskName(c.task) },
      {
        id: "open",
        header: "Values",
        meta: { width: "80px" },
        cell: ({ row }) => (
          <button type="button" aria-label={`Show card ${row.original.id}`} onClick={() => setChosen(row.original)}>
            Show
          </button>
        ),
      },
    ],
    [shownKey, taskName],
  );
  return (
    <section aria-label="Data">
      <div className="toolbar">
        <label>
          Template{" "}
          <select aria-label="Template" value={template} onChange={(e) => { setTemplate(e.target.value); setChosen(null); }}>
            <TemplateOptions templates={templates.data} />
          </select>
        </label>
        <label>
          Folder{" "}
          <select aria-label="Folder" value={folder} onChange={(e) => setFolder(e.target.value)}>
            <option value="">All folders</option>
            {(folders.data ?? []).filter((f) => !template || f.templates.includes(template)).map((f) => (
              <option key={f.code} value={f.code}>
                {f.name} ({f.code})
              </option>
            ))}
          </select>
        </label>
        <input type="search" aria-label="Search datacards" placeholder="Search datacards" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="button" onClick={() => void cards.refetch()} disabled={!template}>
          Refresh
        </button>
      </div>
      {(cards.error ?? templates.error) && <div className="banner error">{errorMessage(cards.error ?? templates.error)}</div>}
      {!template ? (
        <p className="empty">Choose a template to browse the datacards that tasks loaded into the local store.</p>
      ) : (
        <div className="split">
          {searched !== search.trim() || (cards.isFetching && cards.isPlaceholderData) ? (
            <p className="hint wide" role="status">Searching…</p>
          ) : searched && shown >= FOUND ? (
            <p className="hint wide" role="status">
              Showing the first {count(FOUND)} cards that hold “{searched}”.
            </p>
          ) : searched && shown > 0 ? (
            <p className="hint wide" role="status">
              {plural(shown, "card")} {shown === 1 ? "holds" : "hold"} “{searched}”.
            </p>
          ) : !searched && shown >= LIMIT ? (
            <p className="hint wide">Showing the first {count(LIMIT)} cards; the search looks through all of them.</p>
          ) : null}
          <VirtualTable
            label={`Datacards of ${template}`}
            data={cards.data ?? []}
            columns={columns}
            rowId={(c) => String(c.id)}
            rowTestId="datacard-row"
            onActivate={setChosen}
            empty={
              cards.isPending
                ? "Loading…"
                : searched
                  ? `No card of ${template} has the id “${searched}” or a value holding it.`
                  : "No datacards here yet: run a task that writes this template."
            }
          />
          {chosen && (
            <aside className="card-detail" aria-label={`Card ${chosen.id}`} data-testid="card-detail">
              <h3>Card {chosen.id}</h3>
              <p>
                Written by <strong>{taskName(chosen.task)}</strong>, {when(chosen.updated_at)}
              </p>
              <table className="grid">
                <tbody>
                  {Object.entries((chosen.data as Record<string, unknown> | null) ?? {}).map(([k, v]) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <CardHistory cardId={chosen.id} />
            </aside>
          )}
        </div>
      )}
    </section>
  );
}

/** "History of card": every change the journal holds for it, newest first, field by field. */
function CardHistory({ cardId }: { cardId: number }) {
  const history = useQuery({ queryKey: queryKeys.data.history(cardId), queryFn: () => api.datacardHistory(cardId) });
  const show = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));
  return (
    <section aria-label={`History of card ${cardId}`}>
      <h4>History of card</h4>
      {history.error && <div className="banner error">{errorMessage(history.error)}</div>}
      {history.data?.length === 0 && <p className="empty">The journal holds no change of this card (it was written before the journal began).</p>}
      <ol className="card-history">
        {(history.data ?? []).map((c) => (
          <li key={`${c.run_id}-${c.kind}-${c.at}`} data-testid="card-change">
            <strong>{c.kind}</strong> {when(c.at)} by {c.task || "a removed task"}: {c.reason}
            {c.source_fingerprint && (
              <>
                {" "}
                (source record <span className="mono" title="xxh3 of the record's object id and mapped values">{c.source_fingerprint}</span>)
              </>
            )}
            {c.source_row && (
              <>
                {" "}
                from <span data-testid="source-row">{c.source_row.file} row {c.source_row.row}</span>
              </>
            )}
            {c.changes.length > 0 && (
              <ul>
                {c.changes.map((f) => (
                  <li key={f.field}>
                    <span className="mono">{f.field}</span>: {show(f.from)} → {show(f.to)}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
