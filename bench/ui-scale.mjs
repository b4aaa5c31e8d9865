// The desktop app at scale (issue #14): a data directory seeded with 10,000
// connectors and tasks and 100,000 history rows (crates/cli/examples/seed_ui_scale.rs),
// the release build in a real WebKit window under Xvfb, driven through tauri-driver.
// Prints medians of:
//   - start: from launching the app to an interactive Overview (the first
//     connector rows rendered and the search box usable), measured from the
//     WebDriver session request, so it includes the driver's own start-up;
//   - keystroke: from a key's input event in "Search connectors" to the
//     filtered table painted (the next animation frame after the rows changed).
// Run by tools/bench-ui.sh; needs PROVISIO_DESKTOP_BIN and DATA_DIR.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { WebDriver } from "../tests/e2e/webdriver.mjs";
import { freePort, startXvfb, waitForPort } from "../tests/e2e/harness.mjs";

const app = process.env.PROVISIO_DESKTOP_BIN;
const dataDir = process.env.DATA_DIR;
const rounds = Number(process.env.ROUNDS ?? 5);
const children = [];

/** How long ago (ms) the newest process running `binary` started, from /proc (10 ms ticks). */
function processAge(binary) {
  const ticks = 100; // USER_HZ on Linux
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
  let newest = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== binary) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      newest = Math.max(newest, (Number(fields[19]) * 1000) / ticks);
    } catch {
      // gone, or not ours
    }
  }
  return uptime - newest;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// In the page: for every real key event (typed through WebDriver, as a user
// types), the time from the input event reaching the search box to the frame
// after the updated table was painted (the next animation frame, then a task).
const LISTEN = `
window.__keyTimes = [];
document.querySelector('input[aria-label="Search connectors"]').addEventListener('input', () => {
  const t0 = performance.now();
  requestAnimationFrame(() => setTimeout(() => window.__keyTimes.push(performance.now() - t0), 0));
}, { capture: true });
`;
const COLLECT = `return { times: window.__keyTimes.splice(0), rows: document.querySelector('[role=table][aria-label=Connectors]').getAttribute('aria-rowcount') };`;

async function typeSlowly(driver, box, text) {
  await driver.cmd("POST", `/element/${box}/clear`, {});
  await new Promise((r) => setTimeout(r, 300));
  await driver.execute("window.__keyTimes.splice(0)");
  for (const key of text) {
    await driver.cmd("POST", `/element/${box}/value`, { text: key });
    await new Promise((r) => setTimeout(r, 250));
  }
  return driver.execute(COLLECT);
}

async function main() {
  const display = await startXvfb(children);
  const starts = [];
  const fromProcess = [];
  const keys = [];
  for (let round = 0; round < rounds; round++) {
    const port = await freePort();
    const nativePort = await freePort();
    const td = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env: { ...process.env, DISPLAY: display, PROVISIO_DATA_DIR: dataDir },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(td);
    await waitForPort(port);
    await waitForPort(nativePort);
    const t0 = performance.now();
    const driver = await WebDriver.start(`http://127.0.0.1:${port}`, { browserName: "wry", "tauri:options": { application: app } });
    for (;;) {
      const rows = await driver.cmd("POST", "/elements", { using: "css selector", value: "[data-testid=connector-row]" });
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    fromProcess.push(processAge(app));
    starts.push(performance.now() - t0);
    const total = await driver.execute("return document.querySelector('[role=table][aria-label=Connectors]').getAttribute('aria-rowcount')");
    // "Connector 0123" narrows 10,000 rows step by step; "Payroll" filters by another column.
    await driver.execute(LISTEN);
    const box = await driver.byName("Search connectors");
    const first = await typeSlowly(driver, box, "connector 0123");
    const second = await typeSlowly(driver, box, "payroll");
    const times = first.times.concat(second.times);
    keys.push(...times);
    process.stderr.write(
      `round ${round + 1}: start ${Math.round(fromProcess.at(-1))} ms from the process (${Math.round(starts.at(-1))} ms from the session request), ${Number(total) - 1} rows, ` +
        `"connector 0123" leaves ${Number(first.rows) - 1}, "payroll" ${Number(second.rows) - 1}; keystrokes ${times.map((t) => Math.round(t)).join(" ")} ms\n`,
    );
    // "Connector 01230" … "Connector 01239"; every fourth connector is a Payroll one.
    if (Number(first.rows) - 1 !== 10 || Number(second.rows) - 1 !== 2500) throw new Error("the search did not narrow the table");
    await driver.quit().catch(() => {});
    td.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(
    `start to interactive Overview: median ${Math.round(median(fromProcess))} ms from the process's start ` +
      `(${Math.round(median(starts))} ms from the WebDriver session request, driver start-up included) over ${starts.length} starts (target <= 1500 ms)`,
  );
  console.log(`keystroke to updated table: median ${median(keys).toFixed(1)} ms, worst ${Math.max(...keys).toFixed(1)} ms over ${keys.length} keys (target <= 100 ms)`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children.reverse()) c.kill("SIGTERM");
  });
