// End to end: the CLI creates a connector in a fresh data directory, then the
// real desktop app (WebKitGTK under Xvfb, driven through tauri-driver and
// WebKitWebDriver) must show it on the Overview tab.
//
// Needs PROVISIO_BIN and PROVISIO_DESKTOP_BIN (absolute paths of the built
// binaries); tools/test.sh sets them.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { WebDriver } from "./webdriver.mjs";
import { accessibilityProblems, freePort, startSlapd, startXvfb, waitForPort } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cli = process.env.PROVISIO_BIN;
// The ESM stand-in (crates/esm-standin) as a process: the remote solution the Targets section adds.
const standinBin = process.env.ESM_STANDIN_BIN;
let standinUrl;
const app = process.env.PROVISIO_DESKTOP_BIN;
const children = [];
let serve;
let driver;
const dataDir = mkdtempSync(join(tmpdir(), "provisio-e2e-"));
// Native file dialogs cannot be driven through WebDriver: the app reads a
// one-time answer (a path) from this file instead (src-tauri/src/commands/files.rs;
// a build with the e2e-dialogs feature only).
const dialogAnswer = join(dataDir, "dialog-answer");
let display;

function provisio(...args) {
  return execFileSync(cli, ["--data-dir", dataDir, ...args], { encoding: "utf8" });
}

/** Starts tauri-driver and a session of the app on `dir` (`env` added to its environment); returns the driver. */
async function openWindow(dir, env = {}) {
  const port = await freePort();
  const nativePort = await freePort();
  const td = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, DISPLAY: display, PROVISIO_DATA_DIR: dir, PROVISIO_TEST_DIALOG_ANSWER: dialogAnswer, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(td);
  await waitForPort(port);
  // tauri-driver listens at once but forwards the session to WebKitWebDriver,
  // which it starts alongside; on a busy machine that one comes up later.
  await waitForPort(nativePort);
  return WebDriver.start(`http://127.0.0.1:${port}`, {
    browserName: "wry",
    "tauri:options": { application: app },
  });
}

before(async () => {
  assert.ok(cli && app && standinBin, "PROVISIO_BIN, PROVISIO_DESKTOP_BIN and ESM_STANDIN_BIN must name the built binaries");
  const standin = spawn(standinBin, ["--user", "webapi", "--password", "e2e-pass"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(standin);
  standinUrl = await new Promise((resolve, reject) => {
    let out = "";
    standin.stdout.on("data", (d) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    standin.on("exit", (code) => reject(new Error(`esm-standin exited (${code})`)));
  });
  provisio("settings", "set", "environment_type=test");
  // A connector can only name a script the library has.
  const script = join(dataDir, "payroll.py");
  writeFileSync(script, "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\n");
  provisio("script", "add", script, "--kind", "scheduled");
  const file = join(dataDir, "connector.json");
  writeFileSync(
    file,
    `{ "name": "Payroll export", "type": "python_script", "script": "payroll.py",
       // pasted with a comment and a trailing comma
       "parameters": { "base_url": "https://payroll.example", }, }`,
  );
  provisio("connector", "create", "--file", file);

  // Another process schedules this directory: the app must say so and not schedule.
  serve = spawn(cli, ["--data-dir", dataDir, "serve"], { stdio: ["ignore", "ignore", "pipe"] });
  children.push(serve);
  await new Promise((resolve, reject) => {
    let err = "";
    serve.stderr.on("data", (d) => {
      err += d.toString();
      if (err.includes("scheduling")) resolve();
    });
    serve.on("exit", (code) => reject(new Error(`provisio serve exited early (${code}): ${err}`)));
  });

  display = await startXvfb(children);
  driver = await openWindow(dataDir);
});

after(async () => {
  if (driver) {
    try {
      const png = await driver.screenshot();
      mkdirSync(join(here, "out"), { recursive: true });
      writeFileSync(join(here, "out", "overview.png"), Buffer.from(png, "base64"));
    } catch {
      // A screenshot is a debugging aid only.
    }
    await driver.quit().catch(() => {});
  }
  for (const c of children.reverse()) c.kill("SIGTERM");
});

test("the Overview tab lists the connector the CLI created", async () => {
  const names = await driver.waitFor("[data-testid=connector-row] .connector-name");
  assert.equal(names.length, 1);
  assert.equal(await driver.text(names[0]), "Payroll export");
});

test("the top bar shows the environment type and the tabs of the spec", async () => {
  const [env] = await driver.waitFor("[data-testid=environment-type]");
  assert.equal(await driver.text(env), "TEST");
  const tabs = await driver.waitFor("[role=tab]", { min: 4 });
  const labels = await Promise.all(tabs.map((t) => driver.text(t)));
  for (const name of ["Overview", "Authentication", "Logs", "Settings"]) {
    assert.ok(labels.includes(name), `tab ${name} missing from ${labels.join(", ")}`);
  }
  assert.equal(await driver.title(), "Provisio — TEST");
});

test("the engine status is up", async () => {
  const [status] = await driver.waitFor("[data-testid=engine-status]");
  assert.match(await driver.text(status), /Engine up/);
});

test("the top bar says that another process owns scheduling", async () => {
  const [sched] = await driver.waitFor("[data-testid=scheduler]");
  const text = await driver.text(sched);
  assert.equal(text, `Scheduled by another process (pid ${serve.pid})`);
});

test("the Settings tab renders every setting the engine defines, by its label, and saves a change", async () => {
  const tabs = await driver.waitFor("[role=tab]", { min: 4 });
  const labels = await Promise.all(tabs.map((t) => driver.text(t)));
  await driver.click(tabs[labels.indexOf("Settings")]);
  const heads = await driver.waitFor("[data-testid=setting-row] > span", { min: 9 });
  const names = await Promise.all(heads.map((h) => driver.text(h)));
  for (const label of ["Environment type", "Cache clear hours", "Workers", "Python interpreter", "Log level"]) {
    assert.ok(names.includes(label), `setting ${label} missing from ${names.join(", ")}`);
  }
  assert.equal(await driver.property(await driver.byName("Environment type"), "value"), "test");
  const workers = await driver.byName("Workers");
  assert.equal(await driver.property(workers, "value"), "4");
  const save = await driver.waitForX("//form[@aria-label='Settings']//button[normalize-space()='Save']");
  assert.equal(await driver.property(save[0], "disabled"), true, "nothing changed yet");
  // The engine's own rule checks the field as it is typed.
  await driver.type(workers, "100");
  const hint = async () => driver.text((await driver.waitForX("//input[@aria-label='Workers']/following-sibling::small"))[0]);
  await driver.until(hint, (t) => /workers/i.test(t) && /64/.test(t), { what: "the range named" });
  assert.equal(await driver.property(save[0], "disabled"), true, "an invalid value cannot be saved");
  await driver.type(workers, "6");
  await driver.until(() => driver.property(save[0], "disabled"), (d) => d === false, { what: "Save enabled" });
  await shot("settings");
  await driver.click(save[0]);
  await driver.until(() => provisio("settings", "show"), (out) => /^workers: 6$/m.test(out), {
    what: "provisio settings show agreeing",
  });
  await driver.click(tabs[labels.indexOf("Overview")]);
});

test("Settings: an ESM target is added (credentials checked first) and its connection tested", async () => {
  const tabs = await driver.waitFor("[role=tab]", { min: 4 });
  const labels = await Promise.all(tabs.map((t) => driver.text(t)));
  await driver.click(tabs[labels.indexOf("Settings")]);
  const cells = async (min) => {
    const tds = await driver.waitFor("[data-testid=target-row] td", { min });
    return Promise.all(tds.map((c) => driver.text(c)));
  };
  assert.deepEqual((await cells(5)).slice(0, 4), ["local", "local datacard store", "", ""]);
  const form = "form[aria-label='Add ESM target']";
  const [submit] = await driver.waitFor(`${form} button[type=submit]`);
  assert.equal(await driver.property(submit, "disabled"), true, "Add is disabled while mandatory fields are empty");
  const field = async (name) => (await driver.waitFor(`${form} input[name=${name}]`))[0];
  await driver.type(await field("name"), "acme");
  await driver.type(await field("base_url"), standinUrl);
  await driver.type(await field("user"), "webapi");
  await driver.type(await field("password"), "not-the-password");
  assert.equal(await driver.property(submit, "disabled"), false);
  await driver.click(submit);
  const refused = async () => {
    for (;;) {
      const [status] = await driver.waitFor(`${form} [role=status]`);
      const text = await driver.text(status);
      if (!text.includes("Logging in")) return text;
    }
  };
  assert.match(await refused(), /target 'acme': the credentials were refused/);
  assert.doesNotMatch(provisio("target", "list"), /acme/, "nothing was saved");

  await driver.type(await field("password"), "e2e-pass");
  await driver.click(submit);
  const deadline = Date.now() + 30000;
  let added = "";
  while (!added.startsWith("Target acme added") && Date.now() < deadline) {
    const [status] = await driver.waitFor(`${form} [role=status]`);
    added = await driver.text(status);
  }
  assert.equal(added, "Target acme added: 1 template, 1 folder");
  assert.deepEqual((await cells(10)).slice(5, 9), ["acme", "esm", standinUrl, "webapi"]);
  assert.match(provisio("target", "list"), /acme\s+esm/);

  const [testButton] = await driver.waitFor("button[aria-label='Test connection to acme']");
  await driver.click(testButton);
  const [said] = await driver.waitFor("[data-testid=targets] [role=status]");
  let text = await driver.text(said);
  while (text === "Testing…") text = await driver.text(said);
  assert.equal(text, "Logged in; 1 template, 1 folder");
  try {
    mkdirSync(join(here, "out"), { recursive: true });
    writeFileSync(join(here, "out", "targets.png"), Buffer.from(await driver.screenshot(), "base64"));
  } catch {
    // A screenshot is a debugging aid only.
  }
  await driver.click(tabs[labels.indexOf("Overview")]);
});

test("Settings: a workflow API token is created in the window and shown once", async () => {
  const tabs = await driver.waitFor("[role=tab]", { min: 4 });
  const labels = await Promise.all(tabs.map((t) => driver.text(t)));
  await driver.click(tabs[labels.indexOf("Settings")]);
  const form = "form[aria-label='Create API token']";
  const [submit] = await driver.waitFor(`${form} button[type=submit]`);
  assert.equal(await driver.property(submit, "disabled"), true, "Create is disabled without a name");
  const [name] = await driver.waitFor(`${form} input[name=token_name]`);
  await driver.type(name, "leavers");
  await driver.click(submit);
  const [shown] = await driver.waitFor("[data-testid=new-token] code");
  const token = await driver.text(shown);
  assert.match(token, /^pvo_[0-9a-f]{64}$/);
  const rows = await driver.waitFor("[data-testid=token-row] td", { min: 5 });
  assert.equal(await driver.text(rows[0]), "leavers");
  assert.equal(await driver.text(rows[1]), "every task");
  const listed = provisio("api-token", "list");
  assert.match(listed, /leavers/);
  assert.doesNotMatch(listed, new RegExp(token), "only the hash is stored");
  try {
    mkdirSync(join(here, "out"), { recursive: true });
    writeFileSync(join(here, "out", "tokens.png"), Buffer.from(await driver.screenshot(), "base64"));
  } catch {
    // A screenshot is a debugging aid only.
  }
  await driver.click(tabs[labels.indexOf("Overview")]);
});

// ---- Desktop app part 1: the daily job without the CLI ----------------------
// Every screen visited is saved under tests/e2e/out/ (see README, "Screenshots").

async function shot(name) {
  try {
    mkdirSync(join(here, "out"), { recursive: true });
    // Two frames first: a dialog opened by the last click is painted, not only in the DOM.
    await driver.painted();
    writeFileSync(join(here, "out", `${name}.png`), Buffer.from(await driver.screenshot(), "base64"));
  } catch {
    // A screenshot is a debugging aid only.
  }
  await checkAccessibility(name);
}

/**
 * What axe-core found on each screen a test took a picture of, and whether it
 * fits the window's width (the last test asserts nothing was found): every
 * screen, its dialogs open, checked where it is shown, without a test of its own.
 */
const accessibility = { checked: [], problems: {} };

async function checkAccessibility(screen) {
  const found = await accessibilityProblems(driver);
  // A screen fits the window's width: a page that scrolls sideways hides its right edge (a table's widest value pushed it).
  const overflow = await driver.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
  if (overflow > 0) found.push(`layout: ${overflow} px wider than the window`);
  accessibility.checked.push(screen);
  if (found.length > 0) accessibility.problems[screen] = found;
}

async function openTab(name) {
  await driver.click(await driver.byName(name));
}

/** Shows the tasks of connector `name` on the Overview (the window keeps a connector open until it is folded). */
async function openTasksOf(name) {
  const toggle = await driver.byName(`Tasks of ${name}`);
  if ((await driver.attribute(toggle, "aria-expanded")) !== "true") await driver.click(toggle);
  await driver.waitFor(`[role=region][aria-label='Tasks of ${name}'] table`);
  // The opened row measures its height a frame after its tasks are there, and
  // the rows below it move: a click before then can land beside a button.
  await driver.painted();
}

const texts = (ids) => Promise.all(ids.map((id) => driver.text(id)));

test("the connector editor refuses parameters with errors at their line and creates a connector", async () => {
  await openTab("Overview");
  await driver.click(await driver.byName("New connector"));
  await driver.type(await driver.byName("Name"), "HR users");
  // The directory connector starts from a parameter block to fill in.
  await driver.choose(await driver.byName("Type"), "ldap");
  const block = await driver.byName("Parameters");
  await driver.until(() => driver.property(block, "value"), (v) => v.includes('"base_dn"') && v.includes('"directory_kind"'), {
    what: "the directory connector's parameter block",
  });
  await shot("connector-editor-directory");
  await driver.choose(await driver.byName("Type"), "python_script");
  await driver.choose(await driver.byName("Script"), "sample_users.py");
  const params = await driver.byName("Parameters");
  await driver.type(params, '{\n  // how many people\n  "count": 150000,\n  "base_url" "x"\n}');
  // The error sits at the line of the entry that lacks its colon, as the text stands in the editor.
  const typed = await driver.property(params, "value");
  const line = typed.split("\n").findIndex((l) => l.includes('"base_url"')) + 1;
  assert.ok(line > 1, `the text was typed: ${JSON.stringify(typed)}`);
  const [errors] = await driver.waitFor("[data-testid=parameter-errors]");
  const expected = new RegExp(`^Line ${line}, column \\d+: a colon \\(:\\) is expected`);
  await driver.until(() => driver.text(errors), (t) => expected.test(t), { timeoutMs: 5000, what: `an error at line ${line} of ${JSON.stringify(typed)}` });
  const save = await driver.byName("Save");
  assert.equal(await driver.property(save, "disabled"), true, "Save waits for valid parameters");
  await shot("connector-editor-error");
  // Comments and a trailing comma are fine.
  await driver.type(params, '{\n  // how many people\n  "count": 150000,\n}');
  await driver.until(() => driver.property(save, "disabled"), (d) => d === false, { what: "Save enabled" });
  await shot("connector-editor");
  await driver.click(save);
  const names = await driver.until(
    async () => texts(await driver.waitFor("[data-testid=connector-row] .connector-name")),
    (n) => n.includes("HR users"),
    { what: "the new connector listed" },
  );
  assert.deepEqual([...names].sort(), ["HR users", "Payroll export"]);
  assert.match(provisio("connector", "show", "HR users"), /sample_users\.py/);
});

test("a new scheduled task: Save is refused with the missing fields listed, then the task is saved", async () => {
  await openTasksOf("HR users");
  // The screenshot once the virtual row has measured the panel (a frame later).
  await new Promise((r) => setTimeout(r, 300));
  await shot("overview-expanded");
  await driver.click(await driver.byName("New scheduled task"));
  const save = await driver.byName("Save");
  const [missing] = await driver.waitFor("[data-testid=missing-fields]");
  const listed = await driver.until(() => driver.text(missing), (t) => /Name/.test(t), { what: "missing fields listed" });
  for (const field of ["Name", "Template", "Folder", "Object id attribute"]) {
    assert.match(listed, new RegExp(field), `${field} listed in: ${listed}`);
  }
  assert.equal(await driver.property(save, "disabled"), true);
  assert.match(await driver.property(save, "title"), /^Missing: .*Name/);
  await shot("task-editor-missing");

  // Scheduling: a preset, and the next five fire times from the engine.
  await driver.choose(await driver.byName("Repeat"), "daily");
  const cron = await driver.byName("Cron expression");
  assert.equal(await driver.property(cron, "value"), "0 0 2 * * *");
  await driver.type(await driver.byName("Time zone"), "Europe/Helsinki");
  // The preview is asked again once the time zone is typed: read the list that answers for it
  // (the one before may still be on screen, or be replaced while it is read).
  await driver.until(
    async () => driver.text((await driver.waitFor("[data-testid=schedule-preview] li", { min: 5 }))[0]),
    // In the task's zone, where the schedule is kept, then the instant in UTC (winter or summer time).
    (first) => /02:00 AM Europe\/Helsinki \(\S+T(00|23):00:00Z\)$/.test(first),
    { what: "02:00 Helsinki, and in UTC, as the first fire time" },
  );
  await shot("task-editor-scheduling");

  await driver.click(await driver.byName("Task details"));
  await driver.type(await driver.byName("Name"), "Nightly");
  await driver.type(await driver.byName("Object id attribute"), "employee_id");
  await driver.click(await driver.byName("Mappings"));
  await driver.choose(await driver.byName("Template"), "person");
  await driver.choose(await driver.byName("Folder"), "persons");
  await driver.type(await driver.byName("Source attribute 1"), "employee_id");
  await driver.choose(await driver.byName("Template attribute 1"), "employee_id");
  await driver.click(await driver.byName("Add mapping"));
  await driver.type(await driver.byName("Source attribute 2"), "last_name");
  await driver.choose(await driver.byName("Template attribute 2"), "last_name");
  await shot("task-editor-mappings");
  await driver.until(() => driver.property(save, "disabled"), (d) => d === false, { what: "Save enabled" });
  await driver.click(save);
  await driver.until(
    async () => (await driver.cmd("POST", "/elements", { using: "css selector", value: ".banner.notice" })).length,
    (n) => n > 0,
    { what: "Saved." },
  );
  assert.match(provisio("task", "list", "--connector", "HR users"), /Nightly/);
});

test("Run now shows live progress, then the history row with its counts and the log", async () => {
  await driver.click(await driver.byName("Run now"));
  // Pushed by the engine while the run goes: a stage and record counts.
  const [progress] = await driver.waitFor("[data-testid=run-progress]");
  const live = await driver.until(() => driver.text(progress), (t) => /^(Extract|Validate|Load): /.test(t), {
    what: "live progress",
  });
  assert.match(live, /records read, [\d,]+ loaded$/);
  await shot("task-editor-running");
  const ended = await driver.until(() => driver.text(progress), (t) => t.startsWith("Ended"), {
    timeoutMs: 120000,
    what: "the run's end",
  });
  assert.equal(ended, "Ended: succeeded: 150,000 records read, 150,000 loaded");
  // Clearing the data cache from the editor: the banner says what the next run does.
  await driver.click(await driver.byName("Clear data cache"));
  await driver.until(
    () =>
      driver.cmd("POST", "/elements", {
        using: "xpath",
        value: "//div[contains(@class, 'banner') and contains(., 'The data cache was cleared: the next run checks every record against its card again.')]",
      }),
    (found) => found.length === 1,
    { what: "the cache-cleared banner" },
  );
  await shot("task-editor-cache-cleared");

  await driver.click(await driver.byName("History"));
  const [row] = await driver.waitFor("[data-testid=history-row]");
  await shot("history");
  const cells = await driver.until(
    async () =>
      Promise.all(
        (await driver.waitFor("[data-testid=history-row] [role=cell]", { min: 12 })).map((c) => driver.property(c, "textContent")),
      ),
    (c) => c[2] === "succeeded",
    { what: "a succeeded run" },
  );
  // The manual's history columns: execution id, status, …, extract complete, load start, load complete, counts.
  assert.match(cells[1], /^[0-9a-f]{8}$/, "the execution id");
  assert.equal(cells[2], "succeeded");
  for (const [i, what] of [[7, "extract complete"], [9, "load start"], [10, "load complete"]]) {
    assert.match(cells[i], /\d{1,2}[:.]\d{2}[:.]\d{2}/, `${what}: ${cells[i]}`);
  }
  assert.equal(cells[11], "fetched 150,000, created 150,000", "the counts above zero, in the run detail's words");
  assert.match(await driver.property(row, "className"), /\bok\b/, "a green row");
  await driver.click(await driver.byName("Open"));
  const [counts] = await driver.waitFor("[data-testid=run-counts]");
  assert.match(await driver.text(counts), /fetched 150,000, valid 150,000, blocked 0, created 150,000/);
  assert.ok((await driver.text((await driver.waitFor("[data-testid=run-id]"))[0])).startsWith(cells[1]), "the run's full execution id");
  const [log] = await driver.waitFor("[data-testid=run-log]");
  await driver.until(() => driver.text(log), (t) => /generating 150000 sample records/.test(t), { what: "the log" });
  await driver.type(await driver.byName("Search the log"), "generating");
  assert.equal((await driver.text(log)).split("\n").length, 1, "the search keeps matching lines only");
  await shot("run-detail");

  // The run after the clear checks every record against its card: none changed, none written.
  const again = JSON.parse(provisio("--json", "task", "run", "HR users/Nightly", "--wait"));
  assert.equal(again.status, "succeeded");
  assert.deepEqual([again.counts.created, again.counts.updated, again.counts.unchanged], [0, 0, 150000]);
  // The history says so in its own row, without a column to subtract.
  await driver.click(await driver.byName("← History of Nightly"));
  await driver.click(await driver.byName("Refresh"));
  const rows = await driver.until(() => contents("[data-testid=history-row]"), (r) => r.length === 2, { what: "both runs in the history" });
  assert.ok(rows[0].includes("fetched 150,000, unchanged 150,000"), "the newest run, nothing written: " + rows[0]);
  // Counts that wrap onto a second line make their row taller: no row is cut by the table's edge.
  const cut = () =>
    driver.execute(
      `const body = document.querySelector("[aria-label='Runs of Nightly'] .vbody");
       return body.scrollHeight - body.clientHeight;`,
    );
  assert.equal(await driver.until(cut, (px) => px <= 0, { timeoutMs: 5000, what: "every history row in full" }), 0);
  await shot("history-after-clear");
});

test("the Overview shows the connector green and the task's statuses", async () => {
  await openTab("Overview");
  await driver.click(await driver.byName("Refresh"));
  const light = await driver.until(
    async () => {
      const rows = await driver.waitFor("[data-testid=connector-row]", { min: 2 });
      for (const r of rows) {
        if ((await driver.text(r)).includes("HR users")) {
          const dots = await driver.cmd("POST", `/element/${r}/elements`, { using: "css selector", value: "[data-status]" });
          return dots.length ? driver.cmd("GET", `/element/${Object.values(dots[0])[0]}/attribute/data-status`) : "none";
        }
      }
      return "missing";
    },
    (s) => s === "ok",
    { what: "a green light" },
  );
  assert.equal(light, "ok");
  await openTasksOf("HR users");
  const [extract] = await driver.waitFor("[data-testid=task-row] [data-testid=extract-status]");
  assert.equal(await driver.text(extract), "succeeded");
  const [load] = await driver.waitFor("[data-testid=task-row] [data-testid=load-status]");
  assert.equal(await driver.text(load), "succeeded");
  // The next run in the task's own zone, named: the computer's clock may be another.
  const [next] = await driver.waitFor("[data-testid=task-row] [data-testid=next-run]");
  assert.match(await driver.text(next), /02:00 AM Europe\/Helsinki$/);
  await shot("overview-green");
});

test("the Data tab browses the loaded cards and names the task that wrote them", async () => {
  await openTab("Data");
  await driver.choose(await driver.byName("Template"), "person");
  const rows = await driver.waitFor("[data-testid=datacard-row]", { min: 5 });
  await shot("data-list");
  assert.ok(rows.length < 200, `virtualized: ${rows.length} rows rendered of 100,000`);
  // The window reads the cards a page at a time: scrolled to the end of the first, it reads on.
  const lastRow = () => driver.execute("return Math.max(...[...document.querySelectorAll('[data-testid=datacard-row]')].map((r) => Number(r.getAttribute('aria-rowindex'))))");
  await driver.execute("const s = document.querySelector('[aria-label=\"Datacards of person\"] [role=rowgroup]'); s.scrollTop = s.scrollHeight;");
  await driver.until(async () => {
    await driver.execute("const s = document.querySelector('[aria-label=\"Datacards of person\"] [role=rowgroup]'); s.scrollTop = s.scrollHeight;");
    return lastRow();
  }, (n) => n > 4_001, { what: "rows past the first two pages of cards" });
  await driver.type(await driver.byName("Search datacards"), "employee_id-99999");
  const found = await driver.until(
    // Long values are clipped on screen (their tooltip has them): read the cells' whole text.
    async () => Promise.all((await driver.waitFor("[data-testid=datacard-row]")).map((r) => driver.property(r, "textContent"))),
    (t) => t.length === 1,
    { what: "one card found" },
  );
  assert.match(found[0], /employee_id-99999/);
  assert.match(found[0], /HR users \/ Nightly/);
  // The engine looked through every card; the window says how many hold the text.
  await driver.until(() => contents("[aria-label=Data] .toolbar [role=status]"), (t) => t.includes("1 card holds “employee_id-99999”."), { what: "the search's count" });
  await shot("data-search");
  const [show] = await driver.waitForX("//button[starts-with(@aria-label, 'Show card')]");
  await driver.click(show);
  const [detail] = await driver.waitFor("[data-testid=card-detail]");
  const text = await driver.text(detail);
  assert.match(text, /Written by HR users \/ Nightly/);
  assert.match(text, /last_name\s*last_name-99999/);
  // Why it is so: the journal names the run that created it.
  const changes = await driver.until(() => contents("[data-testid=card-change]"), (c) => c.length >= 1, { what: "the card's history" });
  assert.match(changes[changes.length - 1], /^create .* by HR users\/Nightly: created by run [0-9a-f]{8}/);
  assert.match(changes[changes.length - 1], /source record [0-9a-f]{16}/, "the record it was created from");
  await shot("data");
  await openTab("Overview");
});

test("the Scripts tab shows the library, a script's source, and copies a bundled script to a new name", async () => {
  await openTab("Scripts");
  const rows = await texts(await driver.waitFor("[data-testid=script-row]", { min: 3 }));
  assert.ok(rows.some((r) => /sample_users\.py\s*scheduled\s*bundled \(read-only\)/.test(r)), rows.join(" | "));
  assert.ok(rows.some((r) => /payroll\.py\s*scheduled\s*custom/.test(r)), rows.join(" | "));
  await driver.click(await driver.byName("View sample_users.py"));
  const [source] = await driver.waitFor("[data-testid=script-source]");
  await driver.until(() => driver.property(source, "textContent"), (t) => t.includes("sdk.initialize_script()"), { what: "the source" });
  await driver.click(await driver.byName("Copy sample_users.py"));
  await driver.type(await driver.byName("New name"), "my_users.py");
  await driver.click((await driver.waitForX("//form[@aria-label='Copy script']//button[normalize-space()='Copy']"))[0]);
  await driver.until(() => provisio("script", "list"), (out) => /my_users\.py/.test(out), { what: "the copy in the library" });
  // The library's rows keep their height beside the taller source panel (they were stretched to fill it, 140 px each).
  const heights = await driver.execute(`return [...document.querySelectorAll("[data-testid=script-row]")].map((r) => r.getBoundingClientRect().height);`);
  assert.ok(heights.length >= 3 && heights.every((h) => h < 60), `row heights ${heights.join(", ")}`);
  await shot("scripts");
  await openTab("Overview");
});

test("a failing run raises an alert: the Alerts button opens the list, and Acknowledge marks it seen", async () => {
  const script = join(dataDir, "broken.py");
  writeFileSync(script, "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\nraise RuntimeError('the HR API refused the login')\n");
  provisio("script", "add", script, "--kind", "scheduled");
  const connector = join(dataDir, "broken.json");
  writeFileSync(connector, '{ "name": "Broken source", "type": "python_script", "script": "broken.py", "parameters": {} }');
  provisio("connector", "create", "--file", connector);
  const task = join(dataDir, "broken-task.json");
  writeFileSync(
    task,
    JSON.stringify({
      name: "Hourly", usage: "scheduled", schedule: "0 0 * * * *", timezone: "UTC", object_id_attribute: "id",
      target_template: "person", target_folder: "persons", task_id_attribute: "taskid",
      mappings: [{ source: "id", target: "employee_id" }],
    }),
  );
  provisio("task", "create", "--connector", "Broken source", "--file", task);
  assert.throws(() => provisio("task", "run", "Broken source/Hourly", "--wait"), "the run fails");

  const alerts = await driver.byName("Alerts");
  // In a test installation failures are warnings: counted all the same, in amber.
  await driver.until(
    async () => driver.text((await driver.waitFor("[data-testid=alerts-count]"))[0]),
    (t) => Number(t) >= 1,
    { what: "the warning counted", timeoutMs: 40000 },
  );
  assert.match(await driver.property(alerts, "className"), /\bwarning\b/);
  // The count is drawn over the button's end (beside it in the page, so the
  // button's name is its word): a click on the count opens the list too.
  await driver.clickAt((await driver.waitFor("[data-testid=alerts-count]"))[0]);
  const row = await driver.until(
    async () => {
      const rows = await driver.cmd("POST", "/elements", { using: "css selector", value: "[data-testid=alert-row]" });
      return rows.length ? driver.property(Object.values(rows[0])[0], "textContent") : "";
    },
    (t) => t.includes("Broken source/Hourly"),
    { what: "the alert listed", timeoutMs: 40000 },
  );
  assert.match(row, /warning/);
  assert.match(row, /failed/);
  await shot("alerts");
  await driver.click((await driver.waitForX("//button[starts-with(@aria-label, 'Acknowledge alert')]"))[0]);
  await driver.until(
    async () => driver.property((await driver.waitFor("[data-testid=alert-row]"))[0], "textContent"),
    (t) => t.endsWith("seen"),
    { what: "the alert marked seen" },
  );
  assert.match(provisio("--json", "alerts", "list"), /"acknowledged": true/);
  // Why it failed: the alert opens its run, whose log has the script's error.
  await driver.click((await driver.waitForX("//button[starts-with(@aria-label, 'Open run of alert')]"))[0]);
  await driver.until(
    async () => driver.text((await driver.waitFor("[data-testid=run-log]"))[0]),
    (t) => t.includes("RuntimeError: the HR API refused the login"),
    { what: "the failed run's log, opened from its alert" },
  );
  await shot("alert-run");
  await openTab("Overview");
});

test("a run over its update limit holds what took it over; the alert's review applies it once", async () => {
  const script = join(dataDir, "people.py");
  writeFileSync(
    script,
    "import json, common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\nids = a['connector_parameters']['ids']\n" +
      "prefix = a['connector_parameters'].get('prefix', 'N')\n" +
      "json.dump([{'id': i, 'name': prefix + i} for i in ids], open(a['expected_output_filename'], 'w'))\n",
  );
  provisio("script", "add", script, "--kind", "scheduled");
  const connector = join(dataDir, "people.json");
  writeFileSync(connector, '{ "name": "People", "type": "python_script", "script": "people.py", "parameters": { "ids": ["1", "2", "3"] } }');
  provisio("connector", "create", "--file", connector);
  const task = join(dataDir, "people-task.json");
  writeFileSync(
    task,
    JSON.stringify({
      name: "Nightly", usage: "scheduled", schedule: "0 0 3 * * *", timezone: "UTC", object_id_attribute: "id",
      target_template: "person", target_folder: "persons", task_id_attribute: "taskid",
      mappings: [{ source: "id", target: "employee_id" }, { source: "name", target: "last_name" }],
      removal: { status_attribute: "accountStatus", removed_value: "5 - Removed" },
      limits: { update_limit: 1, on_limit: "hold_excess" },
    }),
  );
  provisio("task", "create", "--connector", "People", "--file", task);
  provisio("task", "run", "People/Nightly", "--wait", "--approve");
  // A bad day: two people renamed and one gone, three changes over a limit of one.
  writeFileSync(connector, '{ "parameters": { "ids": ["1", "2"], "prefix": "M" } }');
  provisio("connector", "update", "People", "--file", connector);
  // Interrupting first: the alert's review says field by field what approving would write.
  const limits = (onLimit) => {
    const t = JSON.parse(provisio("--json", "task", "show", "People/Nightly"));
    t.limits.on_limit = onLimit;
    writeFileSync(task, JSON.stringify(t));
    provisio("task", "update", "People/Nightly", "--file", task);
  };
  limits("interrupt");
  // An interrupted run exits non-zero; its summary is on stdout all the same.
  const interrupted = spawnSync(cli, ["--data-dir", dataDir, "--json", "task", "run", "People/Nightly", "--wait"], { encoding: "utf8" });
  assert.notEqual(interrupted.status, 0);
  assert.equal(JSON.parse(interrupted.stdout).status, "interrupted");
  await reviewAlert("Review and approve alert", "Approve interrupted run");
  await renamedListed("the interrupted run's changed cards listed with their changes");
  await shot("approve-plan");
  await driver.click(await driver.byName("Cancel"));
  await driver.click((await driver.waitForX("//button[starts-with(@aria-label, 'Acknowledge alert')]"))[0]);
  await driver.click(await driver.byName("Close"));
  // Holding instead: the renames take the run over, so they are held with the removal, not applied.
  limits("hold_excess");
  const held = JSON.parse(provisio("--json", "task", "run", "People/Nightly", "--wait"));
  assert.equal(held.counts.held, 3);
  assert.equal(held.counts.updated, 0);

  await reviewAlert("Review held changes of alert", "Apply held changes");
  await renamedListed("the held changed cards listed with their changes");
  // The removal says whose card it is (its other value) and the status it gets.
  await driver.until(
    () => contents("[data-testid=planned-removals] li"),
    (t) => t.length === 1 && /^3 \(card \d+: last_name N3\) — accountStatus: — → 5 - Removed$/.test(t[0]),
    { what: "the held removal listed with whose card it is" },
  );
  await shot("held-changes");
  // The button, not the dialog that bears the same name.
  await driver.click((await driver.waitForX("//button[normalize-space()='Apply held changes']"))[0]);
  await driver.until(() => contents("[role=status]"), (t) => t.some((x) => /^Applied: run \S+ changed 2 cards and marked 1 card removed\.$/.test(x)), { what: "applied" });
  // The dialog's Close (the last in the page, on top), then the list's.
  for (let i = 0; i < 2; i++) {
    const open = await driver.cmd("POST", "/elements", { using: "xpath", value: "//button[normalize-space()='Close']" });
    if (open.length) await driver.click(Object.values(open[open.length - 1])[0]);
  }
  // Applied once, as a run of its own that renamed both and marked one removed; nothing is held any more.
  const history = JSON.parse(provisio("--json", "task", "history", "People/Nightly"));
  assert.equal(history[0].counts.removed, 1);
  assert.equal(history[0].counts.updated, 2);
  assert.doesNotMatch(provisio("run", "show", held.id), /apply-held/);
  assert.equal(history[0].kind, "held", "applying is a run of its own");
});

/** Opens the Alerts list and the review of the one alert whose button's name starts with `button`. */
async function reviewAlert(button, dialog) {
  await driver.click(await driver.byName("Alerts"));
  const [review] = await driver.until(
    () => driver.cmd("POST", "/elements", { using: "xpath", value: `//button[starts-with(@aria-label, '${button}')]` }),
    (found) => found.length === 1,
    { what: `the alert's ${button}`, timeoutMs: 40000 },
  );
  await driver.click(Object.values(review)[0]);
  await driver.waitForX(`//div[@role='dialog' and @aria-label='${dialog}']`);
  // The review covers the window, not the panel it was opened from (it was cut to the panel and
  // scrolled with it), and the panel's actions wrap within its width.
  const layout = await driver.execute(
    `const panel = document.querySelector(".alerts-panel");
     return { inPanel: panel.querySelector("[aria-modal=true]") !== null, overflow: panel.scrollWidth - panel.clientWidth };`,
  );
  assert.deepEqual(layout, { inPanel: false, overflow: 0 });
}

/** The review lists people 1 and 2 renamed N → M, each with its card: what applying or approving writes over what the card holds now. */
function renamedListed(what) {
  return driver.until(
    () => contents("[data-testid=planned-changed] li"),
    (t) => t.length === 2 && /^1 \(card \d+\) — last_name: N1 → M1$/.test(t[0]) && /^2 \(card \d+\) — last_name: N2 → M2$/.test(t[1]),
    { what },
  );
}

// ---- Desktop app part 2 ------------------------------------------------------

/** The textContent of every element matching `css` (WebKit's getText is empty for clipped cells). */
async function contents(css) {
  const found = await driver.cmd("POST", "/elements", { using: "css selector", value: css });
  return Promise.all(found.map((e) => driver.property(Object.values(e)[0], "textContent")));
}

test("the Scripts tab adds a custom script from a file (the dialog's answer from the test)", async () => {
  await openTab("Scripts");
  const file = join(dataDir, "badge_sync.py");
  writeFileSync(file, "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\n# badges\n");
  await driver.choose(await driver.byName("Kind of the script to add"), "event");
  writeFileSync(dialogAnswer, file);
  await driver.click(await driver.byName("Add script…"));
  await driver.until(() => contents(".banner.notice"), (t) => t.includes("Added badge_sync.py."), { what: "the notice" });
  const rows = await driver.until(() => contents("[data-testid=script-row]"), (r) => r.some((t) => t.startsWith("badge_sync.py")), { what: "the new row" });
  assert.ok(rows.some((r) => /^badge_sync\.pyeventcustom/.test(r)), rows.join(" | "));
  assert.match(provisio("script", "list"), /badge_sync\.py\s+event\s+no\s/);
  await openTab("Overview");
});

test("the Logs tab shows the engine's log by level and search, and saves the chosen sources as one zip", async () => {
  await openTab("Logs");
  await driver.until(() => contents("[data-testid=log-row]"), (r) => r.length > 0, { what: "log lines" });
  await driver.choose(await driver.byName("Level"), "warn");
  const warnings = await driver.until(
    () => contents("[data-testid=log-row]"),
    (r) => r.length > 0 && r.every((t) => /WARN|ERROR/.test(t)) && r.some((t) => t.includes("run ended early")),
    { what: "only warnings and errors, the failed run among them" },
  );
  assert.ok(warnings.length > 0);
  await driver.type(await driver.byName("Search the log"), "no such words anywhere");
  await driver.until(() => contents("[data-testid=log-row]"), (r) => r.length === 0, { what: "nothing matches" });
  await driver.type(await driver.byName("Search the log"), "ended early");
  const found = await driver.until(() => contents("[data-testid=log-row]"), (r) => r.length > 0, { what: "the search's lines" });
  assert.ok(found.every((t) => t.includes("ended early")), found.join(" | "));
  // The run's lines say they are the runs', in words; the module path is left for the hover.
  const sources = await driver.execute(
    `return [...document.querySelectorAll("[data-testid=log-row] [role=cell]:nth-child(3)")].map((c) => c.textContent);`,
  );
  assert.ok(sources.length > 0 && sources.every((s) => s === "runs"), sources.join(" | "));
  // Every message and detail is read whole: wrapped onto more lines, never cut at its column's edge.
  const cut = await driver.execute(
    `return [...document.querySelectorAll("[data-testid=log-row] [role=cell]:nth-child(n+4)")].filter((c) => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1).map((c) => c.textContent);`,
  );
  assert.deepEqual(cut, [], "messages cut at the column's edge");
  await shot("logs");
  const zip = join(dataDir, "support-logs.zip");
  writeFileSync(dialogAnswer, zip);
  await driver.click(await driver.byName("Save as zip…"));
  const saved = await driver.until(() => contents("fieldset.sources .banner.notice"), (t) => t.length === 1, { what: "the zip saved" });
  assert.match(saved[0], /^Saved \d+ files \([\d,]+ bytes\) to .*support-logs\.zip\.$/);
  const names = execFileSync("python3", ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", zip], { encoding: "utf8" }).split("\n").filter(Boolean);
  assert.ok(names.some((n) => n.startsWith("engine/engine.log")), names.join(" "));
  assert.ok(names.some((n) => /^runs\/[0-9a-f-]+\/run\.log$/.test(n)), names.join(" "));
  assert.ok(!names.some((n) => n.endsWith("script.log")), "no connector's runs were chosen: " + names.join(" "));
});

test("webview code cannot name a file the user did not choose in a dialog", async () => {
  const target = join(dataDir, "..", `not-chosen-${process.pid}.zip`);
  const call = (command, args) =>
    driver.execute(
      "return window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(() => 'done', (e) => JSON.stringify(e));",
      [command, args],
    );
  const written = await call("export_logs", { path: target, selection: { engine: true, script_host: true, connectors: null } });
  assert.match(written, /"code":"not_chosen"/);
  assert.ok(!existsSync(target), "nothing was written there");
  const read = await call("import_plan", { path: "/etc/passwd", password: "whatever-long-enough" });
  assert.match(read, /"code":"not_chosen"/);
  const added = await call("add_script", { path: "/etc/hostname", kind: "scheduled", name: "stolen.py" });
  assert.match(added, /not chosen in a file dialog/);
  assert.doesNotMatch(provisio("script", "list"), /stolen\.py/);
});

test("every tab shows its own main control, and has a screenshot", async () => {
  // What each tab must show: its region, and the control a user reaches for first.
  const expected = {
    Overview: ["//section[@aria-label='Connectors']", "//*[@aria-label='Search connectors']"],
    Authentication: ["//h2[normalize-space()='Authentication']"],
    Logs: ["//section[@aria-label='Logs']", "//*[@aria-label='Level']"],
    Settings: ["//*[@aria-label='Settings']", "//*[@aria-label='Check Python interpreter']"],
    Scripts: ["//section[@aria-label='Scripts']", "//table[@aria-label='Script library']"],
    Data: ["//section[@aria-label='Data']", "//*[@aria-label='Template']"],
    Audit: ["//section[@aria-label='Audit']", "//*[@aria-label='Search the audit']"],
  };
  for (const [tab, shows] of Object.entries(expected)) {
    await openTab(tab);
    for (const xpath of shows) await driver.waitForX(xpath, { timeoutMs: 10000 });
    const errors = await driver.cmd("POST", "/elements", { using: "css selector", value: "[role=alert], .banner.error" });
    assert.equal(errors.length, 0, `the ${tab} tab shows an error`);
    await checkAccessibility(`tab-${tab.toLowerCase()}`);
    mkdirSync(join(here, "out"), { recursive: true });
    writeFileSync(join(here, "out", `tab-${tab.toLowerCase()}.png`), Buffer.from(await driver.screenshot(), "base64"));
  }
  await openTab("Overview");
});

test("when provisio serve ends, the window takes over scheduling and the top bar says so", async () => {
  await openTab("Overview");
  const [sched] = await driver.waitFor("[data-testid=scheduler]");
  assert.match(await driver.text(sched), /^Scheduled by another process/);
  const ended = new Promise((resolve) => serve.once("exit", resolve));
  serve.kill("SIGTERM");
  await ended;
  // Pushed as an event when the window takes the lock: well before the 15 s refresh.
  const text = await driver.until(() => driver.text(sched), (t) => t === "Scheduler running", {
    timeoutMs: 10000,
    what: "the window scheduling",
  });
  assert.equal(text, "Scheduler running");
  const [dot] = await driver.waitFor("[data-testid=scheduler] .dot");
  assert.match(await driver.property(dot, "className"), /\bgreen\b/);
  await shot("scheduler-taken-over");
  // The window holds the lock now: a second scheduler is refused.
  const again = spawnSync(cli, ["--data-dir", dataDir, "serve"], { encoding: "utf8", timeout: 20000 });
  assert.notEqual(again.status, 0, "a second scheduler started");
});

let ldapSecret = "not set yet";

test("the Authentication tab lists a directory connector's authentication task, its realm, and tests a login", async () => {
  // A real directory: OpenLDAP with two people, one of them locked out of the filter by having no uid match.
  const ldap = await startSlapd(children, dataDir,
    "dn: uid=ann,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann\nsn: Andersson\nuserPassword: ann-e2e-password\n\n" +
    "dn: uid=bob,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: Berg\nuserPassword: bob-e2e-password\n");
  const connector = join(dataDir, "directory.json");
  writeFileSync(connector, JSON.stringify({
    name: "Directory", type: "ldap", secret_parameters: ["/bind_password"],
    parameters: { url: ldap.url, bind_dn: ldap.admin, bind_password: ldap.password, base_dn: ldap.base, directory_kind: "openldap" },
  }));
  provisio("connector", "create", "--file", connector);
  ldapSecret = ldap.password;
  const auth = join(dataDir, "auth.json");
  writeFileSync(auth, JSON.stringify({ name: "Staff login", realm: "corp", login_attribute: "uid" }));
  provisio("auth-task", "create", "Directory", "--file", auth);
  provisio("task", "run", "Directory/Staff login", "--wait");
  // A second day: bob leaves, the second run marks his login disabled.
  execFileSync("ldapdelete", ["-x", "-H", ldap.url, "-D", ldap.admin, "-w", ldap.password, "uid=bob,ou=people,dc=example,dc=com"]);
  provisio("task", "run", "Directory/Staff login", "--wait");

  await openTab("Authentication");
  await driver.click(await driver.byName("Refresh"));
  const rows = await driver.until(() => contents("[data-testid=auth-connector-row]"), (r) => r.some((t) => t.includes("Directory")), { what: "the directory connector" });
  assert.ok(rows.every((t) => !t.includes("Payroll export")), "a script connector cannot authenticate: " + rows.join(" | "));
  assert.equal(rows.length, 1);
  await driver.click(await driver.byName("Show authentication tasks of Directory"));
  const tasks = await driver.until(() => contents("[data-testid=auth-task-row]"), (r) => r.some((t) => t.includes("corp") && t.includes("succeeded")), { what: "the task with its realm and last run" });
  assert.ok(tasks[0].includes("Staff login"), tasks.join(" | "));
  await shot("authentication-tab");
  // The top bar's Secure access follows the authentication task's last run.
  await driver.until(() => contents("[data-testid=secure-access]"), (t) => t.some((x) => x.includes("Secure access: online")), { timeoutMs: 30000, what: "Secure access online" });

  await driver.click(await driver.byName("Edit Staff login"));
  await driver.type(await driver.byName("Login"), "ann");
  await driver.type(await driver.byName("Password"), "ann-e2e-password");
  await driver.click(await driver.byName("Test login"));
  const allowed = await driver.until(() => contents("[data-testid=login-verdict]"), (t) => t.length === 1, { what: "the verdict" });
  assert.match(allowed[0], /^Allowed: the directory accepted the password \(uid=ann,ou=people,dc=example,dc=com\)/);
  await driver.type(await driver.byName("Password"), "not-anns-password");
  await driver.click(await driver.byName("Test login"));
  const denied = await driver.until(() => contents("[data-testid=login-verdict]"), (t) => t.some((x) => x.startsWith("Denied")), { what: "the denial" });
  assert.match(denied[0], /refused the password/);
  assert.ok(!denied[0].includes("not-anns-password"));
  await shot("authentication-task-editor");
  await driver.click(await driver.byName("Cancel"));

  // Its history, with the chart of its runs: two runs, the second removed one login.
  await driver.click(await driver.byName("History of Staff login"));
  await driver.waitForX("//figure[@aria-label='Last runs chart']");
  const runs = await driver.until(() => contents("[data-testid=history-row]"), (r) => r.length === 2, { what: "both runs" });
  assert.match(runs[0], /fetched 1, (unchanged 1, )?removed 1(?!\d)/, "fetched 1, removed 1");
  await shot("history-chart");

  // Undo the second day: its plan first, then bob's login is enabled again, by a run of its own.
  await driver.click(await driver.byName("Open"));
  await driver.click(await driver.byName("Undo this run…"));
  const [undoPlan] = await driver.waitFor("[data-testid=undo-plan]");
  await driver.until(() => driver.text(undoPlan), (t) => /^bob@corp \(card \d+: login bob, .*\): restore — enabled: false → true/.test(t), { what: "the undo plan, whose card first" });
  await shot("undo-plan");
  await driver.click(await driver.byName("Undo"));
  await driver.waitFor("[data-testid=undo-done]");
  await driver.click(await driver.byName("Close"));
  const accounts = JSON.parse(provisio("--json", "datacards", "list", "--template", "auth_user"));
  assert.equal(accounts.find((c) => c.data.account === "bob@corp").data.enabled, "true", "the undo restored bob's login");

  // The directory connector's editor tests its connection with the saved parameters and keyring password.
  await openTab("Overview");
  await driver.click(await driver.byName("Edit connector Directory"));
  await driver.click(await driver.byName("Test connection"));
  const check = await driver.until(() => contents("[data-testid=connection-check]"), (t) => t.length === 1, { what: "the connection check" });
  assert.match(check[0], /as cn=admin,dc=example,dc=com; base DN dc=example,dc=com found; the user filter matches 1 entries/);
  assert.match(check[0], /not encrypted/);
  await shot("connector-test-connection");
  await driver.click(await driver.byName("← Overview"));
});

test("the Audit tab shows who changed what, from the window and from the CLI, field by field", async () => {
  await openTab("Audit");
  await driver.type(await driver.byName("Search the audit"), "Directory");
  const rows = await driver.until(() => contents("[data-testid=audit-row]"), (r) => r.some((t) => t.includes("CLI") && t.includes("create")), { what: "the CLI's changes" });
  assert.ok(rows.some((t) => t.includes("Directory/Staff login")), rows.join(" | "));
  assert.ok(rows.every((t) => !t.includes(ldapSecret)), "no secret in the audit");
  // A blank search is no search (clearing alone sends no input event to the page).
  await driver.type(await driver.byName("Search the audit"), " ");
  await driver.choose(await driver.byName("Object"), "settings");
  const settings = await driver.until(() => contents("[data-testid=audit-row]"), (r) => r.some((t) => t.includes("Window")), { what: "the window's settings change" });
  assert.ok(settings.every((t) => t.includes("settings")), settings.join(" | "));
  await shot("audit-tab");
});

test("export two connectors, then import them into a second data directory after reading the plan", async () => {
  await openTab("Overview");
  await driver.click(await driver.byName("Select HR users"));
  await driver.click(await driver.byName("Select Payroll export"));
  await driver.click(await driver.byName("Export selected…"));
  await driver.type(await driver.byName("Password"), "short");
  const [problem] = await driver.waitFor("[role=dialog] .note.error");
  assert.match(await driver.text(problem), /At least 12 characters/);
  await driver.type(await driver.byName("Password"), "e2e-Package-pass-42");
  await driver.type(await driver.byName("Repeat password"), "e2e-Package-pass-42");
  await shot("export");
  const pkg = join(dataDir, "two-connectors.zip");
  writeFileSync(dialogAnswer, pkg);
  await driver.click(await driver.byName("Export…"));
  const done = await driver.until(() => contents(".banner.notice"), (t) => t.some((x) => x.startsWith("Exported")), { what: "the export" });
  assert.ok(done.some((t) => /^Exported 2 connectors and \d+ tasks to .*two-connectors\.zip/.test(t)), done.join(" | "));
  assert.ok(existsSync(pkg));

  // A second installation, in its own window.
  const second = mkdtempSync(join(tmpdir(), "provisio-e2e-import-"));
  execFileSync(cli, ["--data-dir", second, "settings", "set", "environment_type=test"]);
  await driver.quit();
  driver = await openWindow(second);
  await driver.waitFor("[aria-label='Connectors']");
  writeFileSync(dialogAnswer, pkg);
  await driver.click(await driver.byName("Import…"));
  await driver.type(await driver.byName("Package password"), "e2e-Package-pass-42");
  await driver.click(await driver.byName("Read package"));
  const plan = await driver.until(() => contents("[data-testid=plan-connector], [data-testid=plan-script]"), (r) => r.length >= 3, { what: "the plan" });
  assert.ok(plan.some((t) => t.startsWith("HR users: create") && t.includes("Task Nightly: create")), plan.join(" | "));
  assert.ok(plan.some((t) => t.startsWith("Payroll export: create")), plan.join(" | "));
  assert.ok(plan.includes("Script payroll.py: create"), plan.join(" | "));
  const before = JSON.parse(execFileSync(cli, ["--data-dir", second, "--json", "connector", "list"], { encoding: "utf8" }));
  assert.equal(before.length, 0, "reading the plan applies nothing");
  await shot("import-plan");
  await driver.click(await driver.byName("Apply import"));
  await driver.until(() => contents(".banner.notice"), (t) => t.some((x) => x.startsWith("Imported HR users (create), Payroll export (create)")), { what: "the import" });
  const after = JSON.parse(execFileSync(cli, ["--data-dir", second, "--json", "connector", "list"], { encoding: "utf8" }));
  assert.deepEqual(after.map((c) => c.name).sort(), ["HR users", "Payroll export"]);
  const names = await driver.until(() => contents("[data-testid=connector-row] .connector-name"), (n) => n.length === 2, { what: "both listed" });
  assert.deepEqual(names.sort(), ["HR users", "Payroll export"]);
});

test("in the dark theme, every tab of the installation the tests used reads as well, the alerts list too", async () => {
  await driver.quit();
  // The system's dark setting, as GNOME passes it to GTK applications.
  driver = await openWindow(dataDir, { GTK_THEME: "Adwaita:dark" });
  await driver.waitFor("[aria-label='Connectors']");
  const background = await driver.execute("return getComputedStyle(document.documentElement).backgroundColor");
  assert.equal(background, "rgb(15, 23, 42)", "the dark theme's background (the --bg token)");
  for (const tab of ["Overview", "Authentication", "Logs", "Settings", "Scripts", "Data", "Audit"]) {
    await openTab(tab);
    await driver.waitFor("main section, main h2", { timeoutMs: 10000 });
    await shot(`dark-tab-${tab.toLowerCase()}`);
  }
  await driver.click(await driver.byName("Alerts"));
  await driver.waitFor("[role=dialog][aria-label='Alerts list']");
  await shot("dark-alerts");
  await driver.click(await driver.byName("Close"));
  // A task's editor and a run's detail read as well in the dark.
  await openTab("Overview");
  await openTasksOf("HR users");
  await driver.click(await driver.byName("Edit Nightly"));
  await driver.waitFor("[aria-label='Task sections']", { timeoutMs: 10000 });
  await shot("dark-task-editor");
  await driver.click(await driver.byName("← Overview"));
  // Back from the editor, the connector is still open.
  assert.equal(await driver.attribute(await driver.byName("Tasks of HR users"), "aria-expanded"), "true", "the Overview kept HR users open");
  await openTasksOf("HR users");
  await driver.click(await driver.byName("History of Nightly"));
  await driver.waitFor("[data-testid=history-row]");
  await driver.click((await driver.waitFor("[data-testid=history-row] button"))[0]);
  await driver.waitFor("[data-testid=run-counts]");
  await shot("dark-run-detail");
  // A dialog with a form, its problem note shown: the export of a package.
  await openTab("Overview");
  await driver.click(await driver.byName("Select HR users"));
  await driver.click(await driver.byName("Export selected…"));
  await driver.type(await driver.byName("Password"), "short");
  await driver.waitFor("[role=dialog] .note.error");
  await shot("dark-export");
  await driver.click(await driver.byName("Cancel"));
  await driver.click(await driver.byName("Select HR users"));
});

test("no screen the tests showed has a WCAG 2 A or AA problem that axe-core finds, or is wider than the window", () => {
  assert.ok(accessibility.checked.length >= 30, `screens checked: ${accessibility.checked.join(", ")}`);
  assert.deepEqual(accessibility.problems, {});
});
