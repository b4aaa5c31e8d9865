import { useMemo, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, errorMessage } from "../../../api";
import type { Run, TaskInput } from "../../../bindings";
import { Field } from "../../../components/Field";

/** Invokes the event task with values typed here and shows how it ended. */
export function TestPanel({ taskId, draft }: { taskId: string; draft: TaskInput }) {
  const sources = (draft.mappings ?? []).map((m) => m.source).filter(Boolean);
  const [values, setValues] = useState<Record<string, string>>({});
  const invoke = useMutation({ mutationFn: () => api.invokeEvent(taskId, values) });
  const run: Run | undefined = invoke.data;
  const fields = useMemo(() => (sources.length ? sources : ["value"]), [sources]);
  return (
    <div className="form">
      {fields.map((s) => (
        <Field key={s} label={s}>
          <input aria-label={`Test value ${s}`} value={values[s] ?? ""} onChange={(e) => setValues((v) => ({ ...v, [s]: e.target.value }))} />
        </Field>
      ))}
      <button type="button" onClick={() => invoke.mutate()} disabled={invoke.isPending}>
        Invoke
      </button>
      <div className="wide" data-testid="test-outcome">
        {invoke.isPending && <p>Invoking…</p>}
        {invoke.error && <div className="banner error">{errorMessage(invoke.error)}</div>}
        {run && (
          <div className={run.status === "succeeded" ? "banner notice" : "banner error"}>
            {run.status}
            {run.outcome ? ` (${run.outcome})` : ""}
            {run.message ? `: ${run.message}` : ""}
            {run.returned ? <pre>{JSON.stringify(run.returned, null, 2)}</pre> : null}
          </div>
        )}
      </div>
    </div>
  );
}
