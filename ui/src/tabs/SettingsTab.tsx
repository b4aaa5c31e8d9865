import { useEffect, useState } from "react";
import { api, errorMessage } from "../api";
import type { Settings } from "../generated/Settings";

/** Read-only for now: settings are changed with `provisio settings set`. */
export function SettingsTab() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.getSettings().then(setSettings, (e: unknown) => setError(errorMessage(e)));
  }, []);

  if (error) return <div className="banner error">{error}</div>;
  if (!settings) return <p>Loading…</p>;
  const rows: [string, string][] = [
    ["Environment type", settings.environment_type ?? "not set (no task runs until it is)"],
    ["Cache clear hours (UTC)", settings.cache_clear_hours.join(", ")],
    ["Workers", String(settings.workers)],
    ["Python interpreter", settings.python],
    ["Retention (days)", settings.retention_days === null ? "none" : String(settings.retention_days)],
    ["Retention (runs per task)", settings.retention_runs === null ? "none" : String(settings.retention_runs)],
    ["Log level", settings.log_level],
  ];
  return (
    <section>
      <h2>Settings</h2>
      <table className="grid narrow">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
