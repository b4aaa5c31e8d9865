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
      if (Date.now() > deadline) throw new Error(`no element matches '${css}' after ${timeoutMs} ms${await this.shows()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Waits until the XPath matches at least `min` elements; returns their ids. */
  async waitForX(xpath, { timeoutMs = 30000, min = 1 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.cmd("POST", "/elements", { using: "xpath", value: xpath });
      if (found.length >= min) return found.map((e) => Object.values(e)[0]);
      if (Date.now() > deadline) throw new Error(`no element matches ${xpath} after ${timeoutMs} ms${await this.shows()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Resolves once the window has painted two more frames: what the last action changed is laid out and measured. */
  async painted() {
    await this.cmd("POST", "/execute/async", {
      script: "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
      args: [],
    });
  }

  /** What the window shows, for an error that says what was not found: a flaky wait is read from the log. */
  async shows() {
    try {
      const text = await this.execute("return (document.querySelector('main') ?? document.body).innerText");
      return `; the window shows: ${JSON.stringify(String(text).replace(/\s+/g, " ").slice(0, 600))}`;
    } catch {
      return "";
    }
  }

  /** The element with this accessible name given by aria-label, or a button with this text. */
  async byName(name, opts) {
    const q = JSON.stringify(name).replace(/^"|"$/g, "");
    const [id] = await this.waitForX(`//*[@aria-label="${q}"] | //button[normalize-space()="${q}"]`, opts);
    return id;
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Chooses a <select>'s option by value, by clicking it as a user does. */
  async choose(elementId, value, { timeoutMs = 30000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Options may arrive with the data they list.
      const found = await this.cmd("POST", `/element/${elementId}/elements`, {
        using: "xpath",
        value: `.//option[@value=${JSON.stringify(value)}]`,
      });
      if (found.length) return this.click(Object.values(found[0])[0]);
      if (Date.now() > deadline) throw new Error(`no option '${value}' after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Polls `read` until `ok(value)` holds; returns the value. */
  async until(read, ok, { timeoutMs = 60000, what = "the condition" } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await read();
        if (ok(last)) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > deadline) throw new Error(`${what} did not hold after ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  text(elementId) {
    return this.cmd("GET", `/element/${elementId}/text`);
  }

  click(elementId) {
    return this.cmd("POST", `/element/${elementId}/click`, {});
  }

  /** A mouse click at the centre of the element, landing on whatever is drawn topmost there (as a user's does). */
  async clickAt(elementId) {
    // By the viewport: WebDriver refuses an element origin the page does not let the pointer reach.
    const element = { "element-6066-11e4-a52e-4f735466cecf": elementId };
    const { x, y, width, height } = await this.execute("return arguments[0].getBoundingClientRect().toJSON()", [element]);
    const at = { origin: "viewport", x: Math.round(x + width / 2), y: Math.round(y + height / 2) };
    const mouse = { type: "pointer", id: "mouse", parameters: { pointerType: "mouse" } };
    const press = [{ type: "pointerMove", ...at }, { type: "pointerDown", button: 0 }, { type: "pointerUp", button: 0 }];
    await this.cmd("POST", "/actions", { actions: [{ ...mouse, actions: press }] });
    await this.cmd("DELETE", "/actions");
  }

  /** Types into an input (after clearing it). */
  async type(elementId, text) {
    await this.cmd("POST", `/element/${elementId}/clear`, {});
    if (text === "") return null;
    // A line break is the Enter key (WebKitWebDriver drops a bare "\n").
    return this.cmd("POST", `/element/${elementId}/value`, { text: text.replaceAll("\n", "\uE007") });
  }

  attribute(elementId, name) {
    return this.cmd("GET", `/element/${elementId}/attribute/${name}`);
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
