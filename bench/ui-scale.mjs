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
import net from "node:net";
import { WebDriver } from "../tests/e2e/webdriver.mjs";

const app = process.env.PROVISIO_DESKTOP_BIN;
const dataDir = process.env.DATA_DIR;
const rounds = Number(process.env.ROUNDS ?? 5);
const children = [];

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitForPort(port) {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1", () => (s.end(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function startXvfb() {
  return new Promise((resolve, reject) => {
    const x = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp"], {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    children.push(x);
    let out = "";
    x.stdio[3].on("data", (d) => {
      out += d.toString();
      if (out.includes("\n")) resolve(`:${out.trim()}`);
    });
    x.on("exit", (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
}

// In the page: type `text` into the search box one key at a time; per key, the
// time from its input event to the frame after the table changed.
const KEYSTROKES = `
const [text, done] = [arguments[0], arguments[arguments.length - 1]];
const box = document.querySelector('input[aria-label="Search connectors"]');
const body = document.querySelector('.vbody');
const times = [];
const next = (i) => {
  if (i >= text.length) return done(times);
  const observer = new MutationObserver(() => {
    observer.disconnect();
    requestAnimationFrame(() => { times.push(performance.now() - t0); setTimeout(() => next(i + 1), 50); });
  });
  observer.observe(body, { childList: true, subtree: true, characterData: true });
  box.value = text.slice(0, i + 1);
  const t0 = performance.now();
  box.dispatchEvent(new InputEvent('input', { bubbles: true, data: text[i] }));
};
box.focus();
next(0);
`;

async function main() {
  const display = await startXvfb();
  const starts = [];
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
    starts.push(performance.now() - t0);
    const total = await driver.execute("return document.querySelector('[role=table][aria-label=Connectors]').getAttribute('aria-rowcount')");
    // "Connector 0123" narrows 10,000 rows step by step; "Payroll" filters by another column.
    const times = await driver.cmd("POST", "/execute/async", { script: KEYSTROKES, args: ["connector 0123"] });
    keys.push(...times);
    const clear = await driver.cmd("POST", "/execute/async", { script: KEYSTROKES, args: ["payroll"] });
    keys.push(...clear);
    process.stderr.write(`round ${round + 1}: start ${Math.round(starts.at(-1))} ms, ${Number(total) - 1} rows, keystrokes ${times.concat(clear).map((t) => Math.round(t)).join(" ")} ms\n`);
    await driver.quit().catch(() => {});
    td.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`start to interactive Overview: median ${Math.round(median(starts))} ms over ${starts.length} starts (target <= 1500 ms)`);
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
