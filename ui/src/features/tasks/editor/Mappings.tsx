import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api";
import { TemplateOptions } from "../../../components/TemplateOptions";
import { Field } from "../../../components/Field";
import { queryKeys } from "../../../queryKeys";
import type { Part } from "./part";

export function Mappings({ draft, set, target }: Part & { target: string }) {
  const templates = useQuery({ queryKey: queryKeys.templates(target), queryFn: () => api.listTemplates(target) });
  const folders = useQuery({ queryKey: queryKeys.folders(target), queryFn: () => api.listFolders(target) });
  const template = (templates.data ?? []).find((t) => t.code === draft.target_template);
  const accepting = (folders.data ?? []).filter((f) => !draft.target_template || f.templates.includes(draft.target_template));
  const rows = draft.mappings ?? [];
  const setRow = (i: number, patch: Partial<{ source: string; target: string }>) =>
    set({ mappings: rows.map((m, j) => (j === i ? { ...m, ...patch } : m)) });
  return (
    <div className="form">
      <Field label="Template">
        <select aria-label="Template" value={draft.target_template ?? ""} onChange={(e) => set({ target_template: e.target.value, target_folder: "" })}>
          <TemplateOptions templates={templates.data} />
        </select>
      </Field>
      <Field label="Folder">
        <select aria-label="Folder" value={draft.target_folder ?? ""} onChange={(e) => set({ target_folder: e.target.value })}>
          <option value="">Choose a folder…</option>
          {accepting.map((f) => (
            <option key={f.code} value={f.code}>
              {f.name} ({f.code})
            </option>
          ))}
        </select>
      </Field>
      <div className="wide">
        <table className="grid" aria-label="Mappings">
          <thead>
            <tr>
              <th>Source attribute</th>
              <th>Template attribute</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((m, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Source attribute ${i + 1}`} value={m.source} onChange={(e) => setRow(i, { source: e.target.value })} />
                </td>
                <td>
                  <select aria-label={`Template attribute ${i + 1}`} value={m.target} onChange={(e) => setRow(i, { target: e.target.value })}>
                    <option value="">Choose…</option>
                    {(template?.attributes ?? []).map((a) => (
                      <option key={a.code} value={a.code}>
                        {a.code}
                        {a.multi_value ? " (multi-value)" : ""}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => set({ mappings: rows.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => set({ mappings: [...rows, { source: "", target: "" }] })}>
          Add mapping
        </button>
        {!template && <p className="hint">Choose a template to pick its attributes.</p>}
      </div>
    </div>
  );
}
