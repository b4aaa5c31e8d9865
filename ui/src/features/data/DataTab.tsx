import { useCallback, useMemo, useState } from "react";
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import { TemplateOptions } from "../../components/TemplateOptions";
import type { Datacard } from "../../bindings";
import { VirtualTable, type Column } from "../../components/VirtualTable";
import { count, plural, when } from "../../format";
import { queryKeys } from "../../queryKeys";
import { useRemembered } from "../../remembered";
import { useSettled } from "../../debounce";

/** Cards the tab reads at a time (the next page when the view nears the last). */
const PAGE = 2_000;

/** The local datacard store: pick a template and folder, search, see a card's values and its writer. */
export function DataTab({ pageSize = PAGE }: { /** Fewer in component tests: jsdom cannot lay out thousands of rows. */ pageSize?: number } = {}) {
  const templates = useQuery({ queryKey: queryKeys.templates("local"), queryFn: () => api.listTemplates("local") });
  const folders = useQuery({ queryKey: queryKeys.folders("local"), queryFn: () => api.listFolders("local") });
  const tasks = useQuery({ queryKey: queryKeys.tasks.of(null), queryFn: () => api.listTasks(null) });
  const [template, setTemplate] = useRemembered("data.template", "");
  const [folder, setFolder] = useRemembered("data.folder", "");
  const [search, setSearch] = useRemembered("data.search", "");
  const [chosen, setChosen] = useState<Datacard | null>(null);
  // The engine searches every card of the template, however many; the list reads them a page at a time.
  const searched = useSettled(search.trim());
  const cards = useInfiniteQuery({
    queryKey: queryKeys.data.cards(template, folder, searched),
    queryFn: ({ pageParam }) => api.listDatacards(template, folder || null, searched || null, pageParam, pageSize),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => (last.length === pageSize ? (last.at(-1)?.id ?? null) : null),
    enabled: template !== "",
    placeholderData: keepPreviousData,
  });
  const list = useMemo(() => cards.data?.pages.flat() ?? [], [cards.data]);
  const shown = list.length;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = cards;
  const status =
    searched !== search.trim() || (cards.isFetching && cards.isPlaceholderData)
      ? "Searching…"
      : isFetchingNextPage
        ? "Reading more cards…"
        : searched && shown > 0
          ? hasNextPage
            ? `The first ${count(shown)} cards that hold “${searched}”; scroll down for more.`
            : `${plural(shown, "card")} ${shown === 1 ? "holds" : "hold"} “${searched}”.`
          : null;
  const readOn = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const tmpl = (templates.data ?? []).find((t) => t.code === template);
  const taskName = useMemo(() => {
    const names = new Map((tasks.data ?? []).map((t) => [t.id, `${t.connector_name} / ${t.name}`]));
    return (id: string | null) => (id ? (names.get(id) ?? `task ${id.slice(0, 8)} (removed)`) : "—");
  }, [tasks.data]);
  // The columns: the template's attributes that the first cards have values for (five at most).
  const shownKey = useMemo(() => {
    const sample = list.slice(0, 50).map((c) => (c.data ?? {}) as Record<string, unknown>);
    const filled = (tmpl?.attributes ?? []).filter((a) => sample.some((d) => d[a.code] !== undefined && d[a.code] !== null && d[a.code] !== ""));
    return (filled.length ? filled : (tmpl?.attributes ?? [])).slice(0, 5).map((a) => a.code).join("\n");
  }, [list, tmpl]);
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
        {/* Always there, beside the controls: a live region is read out when its text changes, and the table never moves. */}
        <span className="hint" role="status">
          {status}
        </span>
      </div>
      {(cards.error ?? templates.error) && <div className="banner error">{errorMessage(cards.error ?? templates.error)}</div>}
      {!template ? (
        <p className="empty">Choose a template to browse the datacards that tasks loaded into the local store.</p>
      ) : (
        <div className="split">
          <VirtualTable
            label={`Datacards of ${template}`}
            data={list}
            columns={columns}
            rowId={(c) => String(c.id)}
            rowTestId="datacard-row"
            onActivate={setChosen}
            onNearEnd={readOn}
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
