// What the window's tests and benchmarks share: a virtual display, free
// loopback ports, waiting for a listener, and the accessibility check.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// axe-core (ui's devDependencies): the WCAG 2 A and AA rules, run in the window as it is.
const axeFile = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "ui", "node_modules", "axe-core", "axe.min.js");

/**
 * What axe-core finds against WCAG 2 A and AA in `driver`'s window as it is
 * now: `rule: help (the first elements)`.
 */
export async function accessibilityProblems(driver) {
  const axeSource = readFileSync(axeFile, "utf8");
  const found = await driver.cmd("POST", "/execute/async", {
    script: `const done = arguments[arguments.length - 1];
      if (!window.axe) { ${axeSource} }
      window.axe
        .run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
        .then((r) => done(r.violations.map((v) => v.id + ": " + v.help + " (" + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ") + ")")), (e) => done(["axe-core failed: " + e]));`,
    args: [],
  });
  return found;
}

/** Starts Xvfb on a free display; returns ":N". The process is pushed to `children`. */
export function startXvfb(children) {
  return new Promise((resolve, reject) => {
    // -displayfd 3: Xvfb picks a free display and writes its number to fd 3.
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

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        r(true);
      });
      s.on("error", () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts OpenLDAP's slapd on a free loopback port with a throwaway
 * configuration (no ACLs: the suffix's admin binds, users bind with their
 * own password) and loads `ldif` into it. The process is pushed to `children`.
 */
export async function startSlapd(children, dir, ldif) {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { execFileSync } = await import("node:child_process");
  const base = "dc=example,dc=com";
  const admin = `cn=admin,${base}`;
  const password = `admin-${Math.random().toString(36).slice(2)}`;
  const db = join(dir, "slapd-db");
  mkdirSync(db, { recursive: true });
  const config = join(dir, "slapd.conf");
  writeFileSync(
    config,
    [
      "include /etc/ldap/schema/core.schema",
      "include /etc/ldap/schema/cosine.schema",
      "include /etc/ldap/schema/inetorgperson.schema",
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      `pidfile ${join(dir, "slapd.pid")}`,
      "database mdb",
      "maxsize 16777216",
      `suffix "${base}"`,
      `rootdn "${admin}"`,
      `rootpw ${password}`,
      `directory ${db}`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const slapd = spawn("/usr/sbin/slapd", ["-d", "0", "-f", config, "-h", `${url}/`], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(slapd);
  await waitForPort(port, 15000);
  const entries = `dn: ${base}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n` +
    `dn: ou=people,${base}\nobjectClass: organizationalUnit\nou: people\n\n${ldif}`;
  execFileSync("ldapadd", ["-x", "-H", url, "-D", admin, "-w", password], { input: entries });
  return { url, base, admin, password };
}
