import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { TaskEditor, sectionsFor } from "./TaskEditor";
import { cronOf, presetOf } from "./schedule";

const engine = {
  get_connector: () => ({ id: "c1", name: "HR", type: "python_script", script: "u.py", parameters: {}, secret_parameters: [], target: "local", created_at: "", updated_at: "" }),
  // The engine's own rule decides what is missing; here: what a new task lacks until named.
  missing_task_fields: ({ input }: Record<string, unknown>) => {
    const i = input as { name?: string; target_template?: string };
    return [...(i.name ? [] : ["name"]), ...(i.target_template ? [] : ["target_template"])];
  },
  schedule_preview: () => ({ next: ["2026-12-05T00:00:00Z"], warning: "This schedule fires every 10 minutes but recent runs read 3000 records" }),
  list_templates: () => [{ code: "person", name: "Person", attributes: [{ code: "employee_id" }, { code: "groups", multi_value: true }] }],
  list_folders: () => [{ code: "persons", name: "Persons", templates: ["person"] }],
  connector_task_settings: () => null,
  live_progress: () => null,
};

describe("the task editor", () => {
  it("keeps Save disabled while mandatory fields are missing and names them inline and in its tooltip", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, engine);
    const save = screen.getByRole("button", { name: "Save" });
    const list = await screen.findByRole("list", { name: "Missing fields" });
    expect(list.textContent).toBe("NameTemplate");
    expect((save as HTMLButtonElement).disabled).toBe(true);
    expect(save.getAttribute("title")).toBe("Missing: Name, Template");
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Nightly" } });
    await waitFor(() => expect(save.getAttribute("title")).toBe("Missing: Template"));
    // The task id attribute is mandatory for a scheduled task, and says so.
    expect(screen.getByText(/^required: the card attribute that records which task wrote it/)).toBeTruthy();
    expect(screen.queryByText(/^optional: the card attribute/)).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Mappings" }));
    await screen.findByRole("option", { name: "Person (person)" });
    fireEvent.change(screen.getByLabelText("Template"), { target: { value: "person" } });
    await waitFor(() => expect((save as HTMLButtonElement).disabled).toBe(false));
    expect(screen.queryByTestId("missing-fields")).toBeNull();
    // Multi-value attributes are marked in the picker.
    expect(screen.getByRole("option", { name: "groups (multi-value)" })).toBeTruthy();
  });

  it("lets a directory connector's task choose users or groups, and sends the choice", async () => {
    let saved: unknown = null;
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, {
      ...engine,
      get_connector: () => ({ id: "c1", name: "Directory", type: "ldap", script: null, parameters: {}, secret_parameters: [], target: "local", created_at: "", updated_at: "" }),
      save_task: (args: Record<string, unknown>) => {
        saved = args;
        throw { code: "invalid", message: "stop here", remedy: null };
      },
    });
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    const reads = (await screen.findByLabelText("Reads")) as HTMLSelectElement;
    expect(reads.value).toBe("users");
    fireEvent.change(reads, { target: { value: "groups" } });
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Groups" } });
    fireEvent.click(screen.getByRole("button", { name: "Mappings" }));
    await screen.findByRole("option", { name: "Person (person)" });
    fireEvent.change(screen.getByLabelText("Template"), { target: { value: "person" } });
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    fireEvent.click(save);
    await waitFor(() => expect((saved as { input: { directory_objects?: string } } | null)?.input.directory_objects).toBe("groups"));
  });

  it("lets a task choose up to three display fields from its template, and sends them in order", async () => {
    let saved: unknown = null;
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, {
      ...engine,
      save_task: (args: Record<string, unknown>) => {
        saved = args;
        throw { code: "invalid", message: "stop here", remedy: null };
      },
    });
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Nightly" } });
    fireEvent.click(screen.getByRole("button", { name: "Mappings" }));
    await screen.findByRole("option", { name: "Person (person)" });
    fireEvent.change(screen.getByLabelText("Template"), { target: { value: "person" } });
    const second = screen.getByLabelText("Display field 2") as HTMLSelectElement;
    await waitFor(() => expect(within(second).queryByRole("option", { name: "groups" })).toBeTruthy());
    // Chosen second with the first left empty: the gap closes.
    fireEvent.change(second, { target: { value: "groups" } });
    expect((screen.getByLabelText("Display field 1") as HTMLSelectElement).value).toBe("groups");
    // What the first shows is not offered again in the others.
    expect(within(screen.getByLabelText("Display field 2")).queryByRole("option", { name: "groups" })).toBeNull();
    expect(within(screen.getByLabelText("Display field 1")).queryByRole("option", { name: "groups" })).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Display field 2"), { target: { value: "employee_id" } });
    expect(within(screen.getByLabelText("Display field 3")).queryByRole("option", { name: "employee_id" })).toBeNull();
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    fireEvent.click(save);
    await waitFor(() => expect((saved as { input: { display_fields?: string[] } } | null)?.input.display_fields).toEqual(["groups", "employee_id"]));
  });

  it("lets a directory connector's event task choose its operation, the verifications reading back", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="event" open={() => {}} />, {
      ...engine,
      get_connector: () => ({ id: "c1", name: "Directory", type: "ldap", script: null, parameters: {}, secret_parameters: [], target: "local", created_at: "", updated_at: "" }),
    });
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    const operation = (await screen.findByLabelText("Operation")) as HTMLSelectElement;
    expect(operation.value).toBe("");
    const usage = screen.getByLabelText("Usage") as HTMLSelectElement;
    fireEvent.change(operation, { target: { value: "verify_membership" } });
    expect(usage.value).toBe("read");
    fireEvent.change(operation, { target: { value: "disable" } });
    expect(usage.value).toBe("write");
    expect(screen.getByRole("option", { name: "Reset password" })).toBeTruthy();
  });

  it("shows no users-or-groups choice for other connectors", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, engine);
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    await screen.findByLabelText("Name");
    await waitFor(() => expect(screen.queryByLabelText("Reads")).toBeNull());
    expect(screen.queryByLabelText("Operation")).toBeNull();
  });

  it("shows the engine's preview of the next runs and its frequency warning", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, engine);
    expect((await screen.findByRole("note")).textContent).toMatch(/fires every 10 minutes/);
    expect(screen.getByTestId("schedule-preview").textContent).toContain("2026-12-05T00:00:00Z");
    // Top bar actions wait for a saved task.
    expect((screen.getByRole("button", { name: "Run now" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("offers the sections that apply to the options chosen", () => {
    expect(sectionsFor("scheduled", "full", true)).toContain("Removal");
    expect(sectionsFor("scheduled", "incremental", true)).not.toContain("Removal");
    expect(sectionsFor("event", null, true)).toEqual(["Task details", "Mappings", "Failure settings", "Runtime", "Test"]);
    expect(sectionsFor("event", null, false)).not.toContain("Test");
  });

  it("turns presets into cron expressions and recognises them again", () => {
    expect(cronOf({ kind: "daily", time: "02:30" })).toBe("0 30 2 * * *");
    expect(cronOf({ kind: "weekly", day: 1, time: "23:05" })).toBe("0 5 23 * * MON");
    expect(presetOf("0 30 2 * * *")).toEqual({ kind: "daily", time: "02:30" });
    expect(presetOf("0 5 23 * * MON")).toEqual({ kind: "weekly", day: 1, time: "23:05" });
    expect(presetOf("0 */7 * * * *")).toEqual({ kind: "custom" });
    expect(cronOf({ kind: "minutes", every: 10 })).toBe("0 */10 * * * *");
    expect(presetOf("0 */10 * * * *")).toEqual({ kind: "minutes", every: 10 });
    expect(cronOf({ kind: "times", count: 4, time: "01:30" })).toBe("0 30 1,7,13,19 * * *");
    expect(presetOf("0 30 1,7,13,19 * * *")).toEqual({ kind: "times", count: 4, time: "01:30" });
    expect(cronOf({ kind: "times", count: 3, time: "09:00" })).toBe("0 0 1,9,17 * * *");
    expect(presetOf("0 0 1,9,17 * * *")).toEqual({ kind: "times", count: 3, time: "01:00" });
    expect(presetOf("0 0 1,2,17 * * *")).toEqual({ kind: "custom" });
  });

  it("asks before Run now in a production installation, and runs only when confirmed", async () => {
    const task = {
      id: "t1", connector_id: "c1", connector_name: "HR", name: "Nightly", usage: "scheduled", event_usage: "write", enabled: true,
      schedule: "0 0 2 * * *", timezone: "UTC", run_type: "full", mappings_type: "generic", object_id_attribute: "id",
      target_template: "person", target_folder: "persons", task_id_attribute: "taskid", data_source_type_attribute: null,
      mappings: [{ source: "id", target: "employee_id" }], failure: null, removal: null,
      limits: { update_limit: null, override_update_limit: false, minimum_row_count: null }, heartbeat_timeout: 300, max_runtime: null,
      references: [], created_at: "", updated_at: "", next_run: null,
    };
    const runs: unknown[] = [];
    renderWithEngine(<TaskEditor connectorId="c1" taskId="t1" usage="scheduled" open={() => {}} />, {
      ...engine,
      missing_task_fields: () => [],
      get_task: () => task,
      engine_status: () => ({ version: "0.1.0", data_dir: "/d", environment_type: "prod", scheduler: null }),
      run_now: (args) => {
        runs.push(args);
        return { id: "r1" };
      },
    });
    const run = await screen.findByRole("button", { name: "Run now" });
    await waitFor(() => expect((run as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(run);
    const dialog = await screen.findByRole("dialog", { name: "Run in production" });
    expect(dialog.textContent).toContain("production installation");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(runs).toEqual([]);
    fireEvent.click(run);
    fireEvent.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Run now" }));
    await waitFor(() => expect(runs).toEqual([{ task: "t1" }]));
  });

  it("asks before saving a change that breaks the workflows calling the task, and saves only when told", async () => {
    const saved: unknown[] = [];
    const task = {
      id: "t9", connector_id: "c1", connector_name: "HR", name: "Disable", usage: "event", event_usage: "write", enabled: true,
      schedule: null, timezone: "UTC", run_type: "full", mappings_type: "list", object_id_attribute: null, target_template: "person",
      target_folder: "persons", task_id_attribute: null, data_source_type_attribute: null,
      mappings: [{ source: "sAMAccountName", target: "employee_id" }], failure: null, removal: null, limits: {},
      heartbeat_timeout: 300, max_runtime: null, references: [{ caller: "Leaver flow", declared: false, first_used: null, last_used: null, count: 3 }],
      created_at: "", updated_at: "",
    };
    renderWithEngine(<TaskEditor connectorId="c1" taskId="t9" usage="event" open={() => {}} />, {
      ...engine,
      missing_task_fields: () => [],
      get_task: () => task,
      task_change_warnings: () => ["task 'Disable' is used by workflows (Leaver flow); changing its usage or mappings type breaks those callers"],
      save_task: (args) => {
        saved.push(args);
        return task;
      },
    });
    const save = await screen.findByRole("button", { name: "Save" });
    await waitFor(() => expect((save as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(save);
    const ask = await screen.findByRole("dialog", { name: "Workflows call this task" });
    expect(ask.textContent).toContain("used by workflows (Leaver flow)");
    expect(saved).toEqual([]);
    fireEvent.click(within(ask).getByRole("button", { name: "Save anyway" }));
    await waitFor(() => expect(saved.length).toBe(1));
  });

  it("shows an HR task the run type and limits its connector sets, read-only, with their source", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, {
      ...engine,
      connector_task_settings: () => ({
        run_type: "partial",
        limits: { update_limit: 100, override_update_limit: false, minimum_row_count: 10 },
        source: "the parameter block of connector 'HR'",
      }),
    });
    fireEvent.click(screen.getByRole("button", { name: "Task details" }));
    expect((await screen.findByTestId("run-type-from-connector")).textContent).toBe("Partial");
    expect(screen.queryByRole("combobox", { name: "Run type" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Limits" }));
    const limits = await screen.findByTestId("limits-from-connector");
    expect(limits.textContent).toContain("set in the parameter block of connector 'HR'");
    expect(limits.textContent).toContain("Update limit100");
    expect(limits.textContent).toContain("Minimum row count10");
    expect(screen.queryByRole("spinbutton", { name: "Update limit" })).toBeNull();
    // What a run does over the limit stays the task's own.
    expect(screen.getByRole("combobox", { name: "Over the update limit" })).toBeTruthy();
  });

  it("lets a task hold the removals over its update limit instead of interrupting, with the connector's limits too", async () => {
    const saved: unknown[] = [];
    const task = {
      id: "t3", connector_id: "c1", connector_name: "HR", name: "Nightly", usage: "scheduled", event_usage: "write", enabled: true,
      schedule: "0 0 2 * * *", timezone: "UTC", run_type: "full", mappings_type: "generic", object_id_attribute: "id",
      target_template: "person", target_folder: "persons", task_id_attribute: "taskid", data_source_type_attribute: null,
      mappings: [{ source: "id", target: "employee_id" }], failure: null, removal: null,
      limits: { update_limit: 100, override_update_limit: false, minimum_row_count: null, on_limit: "interrupt" },
      heartbeat_timeout: 300, max_runtime: null, references: [], created_at: "", updated_at: "", next_run: null,
    };
    renderWithEngine(<TaskEditor connectorId="c1" taskId="t3" usage="scheduled" open={() => {}} />, {
      ...engine,
      missing_task_fields: () => [],
      get_task: () => task,
      task_change_warnings: () => [],
      save_task: (args) => {
        saved.push(args);
        return task;
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Limits" }));
    const choice = (await screen.findByRole("combobox", { name: "Over the update limit" })) as HTMLSelectElement;
    expect(choice.value).toBe("interrupt");
    fireEvent.change(choice, { target: { value: "hold_excess" } });
    const save = screen.getByRole("button", { name: "Save" });
    await waitFor(() => expect((save as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(save);
    await waitFor(() => expect(saved.length).toBe(1));
    expect((saved[0] as { input: { limits: unknown } }).input.limits).toEqual({
      update_limit: 100, override_update_limit: false, minimum_row_count: null, on_limit: "hold_excess",
    });
  });

  it("labels override_update_limit as the standing setting it is", async () => {
    renderWithEngine(<TaskEditor connectorId="c1" taskId={null} usage="scheduled" open={() => {}} />, { ...engine, connector_task_settings: () => null });
    fireEvent.click(screen.getByRole("button", { name: "Limits" }));
    expect(await screen.findByRole("checkbox", { name: "Always override the update limit" })).toBeTruthy();
    expect(screen.getByText(/a standing setting: every run goes past the update limit/)).toBeTruthy();
  });

  it("follows a run another process executes, from the store, and can stop it", async () => {
    const stopped: unknown[] = [];
    const task = {
      id: "t5", connector_id: "c1", connector_name: "HR", name: "Nightly", usage: "scheduled", enabled: true,
      schedule: "0 0 2 * * *", timezone: "UTC", run_type: "full", mappings_type: "generic", object_id_attribute: "id",
      target_template: "person", target_folder: "persons", task_id_attribute: "taskid", data_source_type_attribute: null,
      mappings: [{ source: "id", target: "employee_id" }], failure: null, removal: null, limits: {},
      heartbeat_timeout: 300, max_runtime: null, references: [], created_at: "", updated_at: "",
    };
    renderWithEngine(<TaskEditor connectorId="c1" taskId="t5" usage="scheduled" open={() => {}} />, {
      ...engine,
      missing_task_fields: () => [],
      get_task: () => task,
      engine_status: () => ({ version: "0.1.0", data_dir: "/d", environment_type: "test", scheduler: { state: "elsewhere", pid: 42 } }),
      live_progress: ({ taskId }) => ({ run_id: "r9", task_id: taskId, task: "HR/Nightly", status: "running", stage: "load", records_read: 1200, records_loaded: 800 }),
      stop_task: (args) => {
        stopped.push(args);
        return null;
      },
    });
    const progress = await screen.findByTestId("run-progress");
    await waitFor(() => expect(progress.textContent).toBe("Load: 1,200 records read, 800 loaded"));
    const stop = screen.getByRole("button", { name: "Stop" });
    await waitFor(() => expect((stop as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(stop);
    await waitFor(() => expect(stopped).toEqual([{ task: "t5" }]));
  });
});
