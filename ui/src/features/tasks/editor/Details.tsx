import type { ConnectorTaskSettings, DirectoryObjects, DirectoryOperation } from "../../../bindings";
import { Field } from "../../../components/Field";
import type { Part } from "./part";

/** A directory event task's operations, in the words the docs use; the inputs each needs are checked at save. */
const DIRECTORY_OPERATIONS: [DirectoryOperation, string][] = [
  ["create_user", "Create user"],
  ["update_attributes", "Update attributes"],
  ["enable", "Enable account"],
  ["disable", "Disable account"],
  ["add_to_group", "Add to group"],
  ["remove_from_group", "Remove from group"],
  ["reset_password", "Reset password"],
  ["delete", "Delete entry"],
  ["verify_user", "Verify user (read back)"],
  ["verify_group", "Verify group (read back)"],
  ["verify_membership", "Verify membership (read back)"],
];

export function Details({ draft, set, fromConnector, directory }: Part & { fromConnector: ConnectorTaskSettings | null; directory: boolean }) {
  return (
    <div className="form">
      <Field label="Name">
        <input aria-label="Name" value={draft.name ?? ""} onChange={(e) => set({ name: e.target.value })} />
      </Field>
      {directory && draft.usage === "scheduled" && (
        <Field label="Reads" hint="the entries of the connector's user filter or of its group filter">
          <select
            aria-label="Reads"
            value={draft.directory_objects ?? "users"}
            onChange={(e) => set({ directory_objects: e.target.value as DirectoryObjects })}
          >
            <option value="users">Users</option>
            <option value="groups">Groups</option>
          </select>
        </Field>
      )}
      {directory && draft.usage === "event" && (
        <Field label="Operation" hint="what an invocation does with the entry its dn names">
          <select
            aria-label="Operation"
            value={draft.directory_operation ?? ""}
            onChange={(e) => {
              const operation = e.target.value as DirectoryOperation;
              // The verifications hand values back (read); every other operation writes.
              set({ directory_operation: operation, event_usage: operation.startsWith("verify_") ? "read" : "write" });
            }}
          >
            <option value="" disabled>
              Choose an operation
            </option>
            {DIRECTORY_OPERATIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      )}
      {draft.usage === "event" ? (
        <Field label="Usage">
          <select aria-label="Usage" value={draft.event_usage ?? "write"} onChange={(e) => set({ event_usage: e.target.value as "write" | "read" })}>
            <option value="write">Write (the script's records are loaded)</option>
            <option value="read">Read (the script returns values to the caller)</option>
          </select>
        </Field>
      ) : fromConnector ? (
        <Field label="Run type" hint={`set in ${fromConnector.source}`}>
          <output aria-label="Run type" data-testid="run-type-from-connector">
            {fromConnector.run_type === "partial" ? "Partial" : "Full"}
          </output>
        </Field>
      ) : (
        <Field label="Run type">
          <select aria-label="Run type" value={draft.run_type ?? "full"} onChange={(e) => set({ run_type: e.target.value as "full" | "incremental" })}>
            <option value="full">Full</option>
            <option value="incremental">Incremental</option>
          </select>
        </Field>
      )}
      <Field label="Object id attribute" hint="the source attribute that identifies a record">
        <input aria-label="Object id attribute" value={draft.object_id_attribute ?? ""} onChange={(e) => set({ object_id_attribute: e.target.value })} />
      </Field>
      <Field
        label="Task id attribute"
        hint={
          draft.usage === "scheduled"
            ? "required: the card attribute that records which task wrote it (a full run marks only its own cards removed)"
            : "optional: the card attribute that records which task wrote it"
        }
      >
        <input aria-label="Task id attribute" value={draft.task_id_attribute ?? ""} onChange={(e) => set({ task_id_attribute: e.target.value || null })} />
      </Field>
      {draft.usage === "event" && (
        <Field label="Declared callers" hint="workflows that call this task, comma separated">
          <input
            aria-label="Declared callers"
            value={(draft.declared_callers ?? []).join(", ")}
            onChange={(e) => set({ declared_callers: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
          />
        </Field>
      )}
    </div>
  );
}
