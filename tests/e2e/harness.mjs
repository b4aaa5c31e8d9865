// What the window's tests and benchmarks share: a virtual display, free
// loopback ports, and waiting for a listener.

import { spawn } from "node:child_process";
import net from "node:net";

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
