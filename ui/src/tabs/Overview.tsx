import { useCallback, useEffect, useMemo, useState } from "react";
import { api, errorMessage } from "../api";
import type { ConnectorSummary } from "../generated/ConnectorSummary";

const TYPE_LABEL: Record<ConnectorSummary["type"], string> = {
  python_script: "Generic Python Script",
  hr_file: "HR file",
};

/** The connectors table: search over every visible column, refresh on demand. */
export function Overview() {
  const [connectors, setConnectors] = useState<ConnectorSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [query, setQuery] = useState("");

  const refresh = useCallback(() => {
    api.listConnectors().then(
      (list) => {
        setConnectors(list);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        setError(errorMessage(e));
        setLoading(false);
      },
    );
  }, []);

  useEffect(refresh, [refresh]);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return connectors;
    return connectors.filter((c) =>
      [c.id, c.name, TYPE_LABEL[c.type], String(c.scheduled_count), String(c.event_count)].some((v) =>
        v.toLowerCase().includes(q),
      ),
    );
  }, [connectors, query]);

  return (
    <section>
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search connectors"
          aria-label="Search connectors"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button onClick={refresh}>Refresh</button>
      </div>
      {error && <div className="banner error">{error}</div>}
      <table className="grid" data-testid="connectors-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>Status</th>
            <th>Name</th>
            <th>Type</th>
            <th>Scheduled</th>
            <th>Event</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((c) => (
            <tr key={c.id} data-testid="connector-row">
              <td className="mono">{c.id.slice(0, 8)}</td>
              <td>{c.scheduled_count === 0 ? "" : <span className="dot grey" title="waiting" />}</td>
              <td className="connector-name">{c.name}</td>
              <td>{TYPE_LABEL[c.type]}</td>
              <td>{c.scheduled_count}</td>
              <td>{c.event_count}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && shown.length === 0 && (
        <p className="empty">
          {connectors.length === 0
            ? "No connectors yet. Create one with `provisio connector create --file CONNECTOR.json`."
            : "No connector matches the search."}
        </p>
      )}
    </section>
  );
}
