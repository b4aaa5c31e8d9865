// A minimal W3C WebDriver client over fetch: enough to drive the desktop app
// through tauri-driver without pulling a browser-automation framework.

export class WebDriver {
  constructor(base, sessionId) {
    this.base = base;
    this.sessionId = sessionId;
  }

  static async start(base, capabilities) {
    const res = await call(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new WebDriver(base, res.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.sessionId}${path}`, body);
  }

  /** Waits until `css` matches at least `min` elements; returns their ids. */
  async waitFor(css, { timeoutMs = 30000, min = 1 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.cmd("POST", "/elements", { using: "css selector", value: css });
      if (found.length >= min) return found.map((e) => Object.values(e)[0]);
      if (Date.now() > deadline) throw new Error(`no element matches '${css}' after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  text(elementId) {
    return this.cmd("GET", `/element/${elementId}/text`);
  }

  click(elementId) {
    return this.cmd("POST", `/element/${elementId}/click`, {});
  }

  /** Types into an input (after clearing it). */
  async type(elementId, text) {
    await this.cmd("POST", `/element/${elementId}/clear`, {});
    return this.cmd("POST", `/element/${elementId}/value`, { text });
  }

  property(elementId, name) {
    return this.cmd("GET", `/element/${elementId}/property/${name}`);
  }

  title() {
    return this.cmd("GET", "/title");
  }

  screenshot() {
    return this.cmd("GET", "/screenshot");
  }

  quit() {
    return call(this.base, "DELETE", `/session/${this.sessionId}`);
  }
}

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(`WebDriver ${method} ${path} failed (${res.status}): ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}
