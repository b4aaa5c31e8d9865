import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "../../../api";
import { DAILY_COUNTS, DAYS, MINUTE_STEPS, cronOf, presetOf, type Preset } from "../schedule";
import { Field } from "../../../components/Field";
import { queryKeys } from "../../../queryKeys";
import type { Part } from "./part";
import { inZone } from "../../../format";

/** A labelled select of numbered choices: (value, text) pairs. */
function NumberChoice(props: { label: string; value: number; options: [number, string][]; onChange: (n: number) => void }) {
  return (
    <Field label={props.label}>
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(Number(e.target.value))}>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </Field>
  );
}

const ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

export function Scheduling({ draft, set, taskId }: Part & { taskId: string | null }) {
  const schedule = draft.schedule ?? "";
  const [preset, setPreset] = useState<Preset>(() => presetOf(schedule));
  const choose = (p: Preset) => {
    setPreset(p);
    const cron = cronOf(p);
    if (cron) set({ schedule: cron });
  };
  const preview = useQuery({
    queryKey: queryKeys.tasks.preview(schedule, draft.timezone, draft.run_type, taskId),
    queryFn: () => api.schedulePreview(schedule, draft.timezone ?? "UTC", draft.run_type ?? "full", taskId),
    enabled: schedule.trim() !== "",
    placeholderData: keepPreviousData,
  });
  return (
    <div className="form">
      <Field label="Enabled">
        <input type="checkbox" aria-label="Enabled" checked={draft.enabled ?? true} onChange={(e) => set({ enabled: e.target.checked })} />
      </Field>
      <Field label="Repeat">
        <select
          aria-label="Repeat"
          value={preset.kind}
          onChange={(e) => {
            const kind = e.target.value;
            choose(
              kind === "minutes"
                ? { kind, every: 15 }
                : kind === "hourly"
                  ? { kind }
                  : kind === "times"
                    ? { kind, count: 4, time: "00:00" }
                    : kind === "daily"
                      ? { kind, time: "02:00" }
                      : kind === "weekly"
                        ? { kind, day: 1, time: "02:00" }
                        : { kind: "custom" },
            );
          }}
        >
          <option value="minutes">Every N minutes</option>
          <option value="hourly">Hourly</option>
          <option value="times">N times a day</option>
          <option value="daily">Daily at</option>
          <option value="weekly">Weekly on</option>
          <option value="custom">Custom (cron expression)</option>
        </select>
      </Field>
      {preset.kind === "weekly" && (
        <NumberChoice label="Day" value={preset.day} options={DAYS.map((d, i) => [i, d])} onChange={(day) => choose({ ...preset, day })} />
      )}
      {preset.kind === "minutes" && (
        <NumberChoice label="Every (minutes)" value={preset.every} options={MINUTE_STEPS.map((n) => [n, String(n)])} onChange={(every) => choose({ kind: "minutes", every })} />
      )}
      {preset.kind === "times" && (
        <>
          <NumberChoice label="Times a day" value={preset.count} options={DAILY_COUNTS.map((n) => [n, String(n)])} onChange={(count) => choose({ ...preset, count })} />
          <Field label="First time" hint="the others follow at even intervals">
            <input type="time" aria-label="First time" value={preset.time} onChange={(e) => choose({ ...preset, time: e.target.value })} />
          </Field>
        </>
      )}
      {(preset.kind === "daily" || preset.kind === "weekly") && (
        <Field label="Time">
          <input type="time" aria-label="Time" value={preset.time} onChange={(e) => choose({ ...preset, time: e.target.value })} />
        </Field>
      )}
      <Field label="Cron expression" hint="seconds minutes hours day-of-month month day-of-week">
        <input
          aria-label="Cron expression"
          className="mono"
          value={schedule}
          onChange={(e) => {
            setPreset({ kind: "custom" });
            set({ schedule: e.target.value });
          }}
        />
      </Field>
      <Field label="Time zone">
        <input aria-label="Time zone" list="time-zones" value={draft.timezone ?? ""} onChange={(e) => set({ timezone: e.target.value })} />
      </Field>
      <datalist id="time-zones">
        {ZONES.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <div className="wide" data-testid="schedule-preview">
        {preview.error ? (
          <div className="note error">{errorMessage(preview.error)}</div>
        ) : (
          <>
            <h3>Next runs</h3>
            {/* In the task's time zone, where the schedule is kept; then the instant in UTC. */}
            <ol>
              {(preview.data?.next ?? []).map((t) => (
                <li key={t}>
                  {inZone(t, draft.timezone || "UTC")} ({t})
                </li>
              ))}
            </ol>
            {preview.data?.warning && (
              <div className="banner warning" role="note">
                {preview.data.warning}
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}
