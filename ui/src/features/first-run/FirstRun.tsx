import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { EnvironmentType } from "../../bindings";
import { configurationKeys, invalidate } from "../../queryKeys";

const KINDS: { value: EnvironmentType; text: string }[] = [
  { value: "prod", text: "Production: failed runs raise critical alerts and the top bar turns red" },
  { value: "test", text: "Test: where configuration is tried before it moves to production" },
  { value: "demo", text: "Demo" },
  { value: "dev", text: "Development" },
];

/**
 * A new data directory opens here: the environment type first (nothing runs
 * until it is set), then a first connector from a bundled sample script.
 */
export function FirstRun({ onEnvironmentSet, onDone }: { onEnvironmentSet: () => void; onDone: () => void }) {
  const client = useQueryClient();
  const [env, setEnv] = useState<EnvironmentType | "">("");
  const [step, setStep] = useState<1 | 2>(1);
  const saveEnv = useMutation({
    mutationFn: () => api.saveSettings([["environment_type", env]]),
    onSuccess: () => {
      // The guide stays up for step 2, although the environment is now set.
      onEnvironmentSet();
      setStep(2);
      void invalidate(client, ...configurationKeys());
    },
  });
  const sample = useMutation({
    mutationFn: () =>
      api.saveConnector(null, {
        name: "Sample users",
        type: "python_script",
        script: "sample_users.py",
        parameters: { count: 25 },
        target: "local",
      }),
    onSuccess: () => {
      void invalidate(client, ...configurationKeys());
      onDone();
    },
  });
  return (
    <section className="first-run" aria-label="First run">
      <h2>Welcome to Provisio</h2>
      {step === 1 ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            saveEnv.mutate();
          }}
        >
          <p>Step 1 of 2. What is this installation? Nothing runs until this is set; it can be changed later in Settings.</p>
          <fieldset>
            <legend>Environment type</legend>
            {KINDS.map((k) => (
              <label key={k.value} className="choice">
                <input type="radio" name="environment_type" value={k.value} checked={env === k.value} onChange={() => setEnv(k.value)} />
                <strong>{k.value}</strong> — {k.text}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={env === "" || saveEnv.isPending}>
            Continue
          </button>
          {saveEnv.error && <div className="banner error">{errorMessage(saveEnv.error)}</div>}
        </form>
      ) : (
        <div>
          <p>
            Step 2 of 2. Create a first connector from the bundled sample script <code>sample_users.py</code>: it makes up 25 people, so that you
            can add a scheduled task, run it and browse the cards it loads. Or start with your own connector.
          </p>
          <div className="toolbar">
            <button type="button" className="primary" onClick={() => sample.mutate()} disabled={sample.isPending}>
              Create the sample connector
            </button>
            <button type="button" onClick={onDone}>
              Skip to the Overview
            </button>
          </div>
          {sample.error && <div className="banner error">{errorMessage(sample.error)}</div>}
        </div>
      )}
    </section>
  );
}
