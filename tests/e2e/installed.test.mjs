// The Linux package: unpacked into a scratch root with `dpkg -x` (as dpkg
// would install it, without touching the system), its binaries start against
// a temporary data directory, and the installed window shows the first-run
// guide of an empty installation.
//
// Needs PROVISIO_DEB: the .deb built by tools/build-deb.sh.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { WebDriver } from "./webdriver.mjs";
import { accessibilityProblems, freePort, startXvfb, waitForPort } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const deb = process.env.PROVISIO_DEB;
const root = mkdtempSync(join(tmpdir(), "provisio-deb-root-"));
const dataDir = mkdtempSync(join(tmpdir(), "provisio-deb-data-"));
const children = [];
let driver;

before(() => {
  assert.ok(deb && existsSync(deb), "PROVISIO_DEB must name the built .deb (tools/build-deb.sh)");
  execFileSync("dpkg-deb", ["-x", deb, root]);
});

after(async () => {
  if (driver) await driver.quit().catch(() => {});
  for (const c of children.reverse()) c.kill("SIGTERM");
});

test("the package declares what the app needs and installs the app, its menu entry and the CLI", () => {
  const fields = execFileSync("dpkg-deb", ["-f", deb, "Package", "Version", "Depends"], { encoding: "utf8" });
  assert.match(fields, /^Package: provisio/m);
  assert.match(fields, /^Version: 0\.1\.0/m);
  assert.match(fields, /libwebkit2gtk-4\.1-0/);
  assert.match(fields, /python3/);
  for (const file of ["usr/bin/provisio-desktop", "usr/bin/provisio"]) assert.ok(existsSync(join(root, file)), `${file} is installed`);
  const entry = readFileSync(join(root, "usr/share/applications/Provisio.desktop"), "utf8");
  assert.match(entry, /^Exec=provisio-desktop/m);
  assert.match(entry, /^Name=Provisio/m);
});

test("the installed CLI opens a temporary data directory", () => {
  const cli = join(root, "usr/bin/provisio");
  execFileSync(cli, ["--data-dir", dataDir, "settings", "set", "workers=3"]);
  assert.match(execFileSync(cli, ["--data-dir", dataDir, "settings", "show"], { encoding: "utf8" }), /^workers: 3$/m);
});

test("the installed app starts on an empty data directory with the first-run guide, dark when the system is", async () => {
  const display = await startXvfb(children);
  const port = await freePort();
  const nativePort = await freePort();
  const empty = mkdtempSync(join(tmpdir(), "provisio-deb-empty-"));
  children.push(
    spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      // The system's dark setting, as GNOME passes it to GTK applications.
      env: { ...process.env, DISPLAY: display, PROVISIO_DATA_DIR: empty, GTK_THEME: "Adwaita:dark" },
      stdio: ["ignore", "inherit", "inherit"],
    }),
  );
  await waitForPort(port);
  await waitForPort(nativePort);
  driver = await WebDriver.start(`http://127.0.0.1:${port}`, {
    browserName: "wry",
    "tauri:options": { application: join(root, "usr/bin/provisio-desktop") },
  });
  const [env] = await driver.waitFor("[data-testid=environment-type]");
  assert.equal(await driver.text(env), "Environment not set");
  await driver.byName("Continue");
  assert.equal(await driver.title(), "Provisio — environment not set");
  assert.ok(existsSync(join(empty, "logs")), "the installed app writes its engine log into the data directory");
  const background = await driver.execute("return getComputedStyle(document.documentElement).backgroundColor");
  assert.equal(background, "rgb(15, 23, 42)", "the dark theme's background (the --bg token)");
  // The dark theme's colours read as well as the light one's (contrast among the WCAG rules).
  assert.deepEqual(await accessibilityProblems(driver), []);
  mkdirSync(join(here, "out"), { recursive: true });
  writeFileSync(join(here, "out", "installed-first-run.png"), Buffer.from(await driver.screenshot(), "base64"));
});
