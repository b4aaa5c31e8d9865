import { useEffect, useState } from "react";
import { api, errorMessage } from "../api";
import type { SettingRow } from "../bindings";
import { TargetsSection } from "./TargetsSection";
import { TokensSection } from "./TokensSection";

/**
 * Every setting the engine defines, rendered from its table (label, value,
 * help text); this tab holds no list of its own. Read-only for now:
 * settings are changed with `provisio settings set`.
 */
export function SettingsTab() {
  const [rows, setRows] = useState<SettingRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.settingsView().then(setRows, (e: unknown) => setError(errorMessage(e)));
  }, []);

  if (error) return <div className="banner error">{error}</div>;
  if (!rows) return <p>Loading…</p>;
  return (
    <>
    <section>
      <h2>Settings</h2>
      <table className="grid narrow">
        <tbody>
          {rows.map(({ key, value }) => (
            <tr key={key.name} title={key.description}>
              <th>{key.label}</th>
              <td>
                {key.name === "environment_type" && value === "not set"
                  ? "not set (no task runs until it is)"
                  : value}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
    <TargetsSection />
    <TokensSection />
    </>
  );
}
