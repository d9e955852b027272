// sdq web UI, shared by the playground and the operator console: the API key (kept in this tab's
// sessionStorage, or localStorage when the person asks to stay signed in; never in the URL),
// JSON calls with it, server-sent events read through fetch (EventSource cannot send a key),
// and the sign-in panel. Pages build DOM with textContent only: nothing from the API is parsed
// as HTML.
"use strict";

const sdq = (() => {
  const KEY = "sdq-api-key";
  const RECONNECTS = 5;

  function storedKey() {
    return sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
  }

  function keepKey(key, remember) {
    sessionStorage.setItem(KEY, key);
    if (remember) localStorage.setItem(KEY, key);
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(describe(status, body));
      this.status = status;
      this.body = body;
      this.fields = (body && body.invalid_fields) || [];
    }
  }

  function describe(status, body) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && body.error && body.error.message) return body.error.message;
    return `the server answered ${status}`;
  }

  function authHeaders(extra) {
    const headers = new Headers(extra || {});
    const key = storedKey();
    if (key) headers.set("Authorization", `Bearer ${key}`);
    return headers;
  }

  // A JSON call relative to the page (so a path prefix in front of the API keeps working).
  async function call(path, { method = "GET", json, signal } = {}) {
    const headers = authHeaders({ Accept: "application/json" });
    const init = { method, headers, signal };
    if (json !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = JSON.stringify(json);
    }
    const response = await fetch(path, init);
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  // A parser of `text/event-stream`: feed it chunks as they arrive, get the complete events
  // ({type, data, id}) back. Lines end in \r\n, \n or \r; a chunk may end between \r and \n.
  function eventParser() {
    let buffer = "";
    let event = { type: "message", data: [], id: null };
    return (chunk) => {
      let text = buffer + chunk;
      let held = "";
      if (text.endsWith("\r")) {
        held = "\r"; // maybe the first half of \r\n: decide with the next chunk
        text = text.slice(0, -1);
      }
      const lines = text.split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      const complete = [];
      for (const line of lines) {
        if (line === "") {
          if (event.data.length) complete.push({ type: event.type, data: event.data.join("\n"), id: event.id });
          event = { type: "message", data: [], id: null };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") event.type = value;
          else if (field === "data") event.data.push(value);
          else if (field === "id") event.id = value;
        }
      }
      return complete;
    };
  }

  function pause(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      if (signal) {
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new DOMException("aborted", "AbortError"));
        });
      }
    });
  }

  // Whether a failed read of a stream is worth another try: a dropped connection or a server
  // restarting (5xx) is; a refusal (4xx) or the page giving up is not.
  function retryable(error) {
    if (error.name === "AbortError") return false;
    return !(error instanceof ApiError) || error.status >= 500;
  }

  // Server-sent events through fetch, resumed with Last-Event-ID after a drop (a few tries in a
  // row, more once events flow again). `onEvent(type, data)` returns true to stop reading.
  async function follow(path, onEvent, signal) {
    let lastId = null;
    let failures = 0;
    for (;;) {
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (lastId) headers.set("Last-Event-ID", lastId);
        const response = await fetch(path, { headers, signal });
        if (!response.ok) {
          const type = response.headers.get("content-type") || "";
          throw new ApiError(response.status, type.includes("json") ? await response.json() : null);
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parse = eventParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parse(value)) {
            failures = 0;
            if (event.id) lastId = event.id;
            if (onEvent(event.type, event.data)) {
              reader.cancel();
              return;
            }
          }
        }
      } catch (error) {
        if (!retryable(error) || failures >= RECONNECTS) throw error;
      }
      failures += 1;
      if (failures > RECONNECTS) throw new Error("the progress stream kept ending before the prediction finished");
      await pause(1000 * failures, signal);
    }
  }

  // Only links the API could have made: http(s) or relative; anything else becomes inert.
  function safeUrl(url) {
    try {
      const parsed = new URL(url, document.baseURI);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "about:blank";
    } catch {
      return "about:blank";
    }
  }

  // An element with attributes and children (strings become text nodes, never HTML).
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "—";
  }

  // Show each refused field's reason next to its input (`input.width` → the `width` field).
  function showFieldErrors(form, error, prefix = "") {
    clearFieldErrors(form);
    const unplaced = [];
    for (const { field, description } of error.fields) {
      const name = field.replace(/^input\./, "");
      const slot = form.querySelector(`[data-error-for="${CSS.escape(prefix + name)}"]`);
      const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (slot) {
        slot.textContent = description;
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        unplaced.push(`${field}: ${description}`);
      }
    }
    const general = form.querySelector("[data-error-for='*']");
    if (general) general.textContent = unplaced.length ? unplaced.join("; ") : error.fields.length ? "" : error.message;
  }

  function clearFieldErrors(form) {
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  // Who the stored key (or no key, when authentication is off) belongs to; null if refused.
  async function account() {
    try {
      return await call("v1/account");
    } catch (error) {
      if (error.status === 401) return null;
      throw error;
    }
  }

  // A key refused in the middle of a session (revoked, expired): forget it and sign in again.
  function signedOut(error) {
    if (error instanceof ApiError && error.status === 401 && storedKey()) {
      forgetKey();
      window.location.reload();
      return true;
    }
    return false;
  }

  // Sign in, then `ready(account)`. The panel asks for a key until one is accepted.
  async function signIn(ready) {
    const panel = document.getElementById("sign-in-panel");
    const form = document.getElementById("sign-in");
    const message = document.getElementById("sign-in-error");
    const who = document.getElementById("who");
    const showWho = (found) => {
      const open = found.key_id === null; // authentication off: no key behind the caller
      document.getElementById("who-name").textContent = found.name;
      document.getElementById("who-role").textContent = open ? `${found.role}, authentication off` : found.role;
      document.getElementById("sign-out").hidden = open;
      who.hidden = false;
    };
    const start = (found, moveFocus = false) => {
      panel.hidden = true;
      showWho(found);
      ready(found);
      const heading = document.querySelector("#app h2");
      if (moveFocus && heading && !document.getElementById("app").hidden) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    };
    document.getElementById("sign-out").addEventListener("click", () => {
      forgetKey();
      window.location.reload();
    });
    // Attached before anything can fail: the form must never fall back to a plain submission.
    form.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      message.textContent = "";
      const input = document.getElementById("api-key");
      const key = input.value.trim();
      if (!key) {
        message.textContent = "Enter an API key.";
        input.focus();
        return;
      }
      keepKey(key, document.getElementById("remember").checked);
      let accepted = null;
      try {
        accepted = await account();
      } catch (error) {
        message.textContent = `Cannot check the key now: ${error.message}`;
        forgetKey();
        return;
      }
      if (!accepted) {
        forgetKey();
        message.textContent = "That key was not accepted.";
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.value = "";
      input.removeAttribute("aria-invalid");
      start(accepted, true);
    });
    let found;
    try {
      found = await account();
    } catch (error) {
      message.textContent = `Cannot reach the API (${error.message}); sign in to try again.`;
      panel.hidden = false;
      return;
    }
    if (found) {
      start(found);
      return;
    }
    if (storedKey()) {
      forgetKey();
      message.textContent = "Your saved key is no longer accepted; sign in again.";
    }
    panel.hidden = false;
    document.getElementById("api-key").focus();
  }

  return { call, follow, eventParser, el, when, safeUrl, signIn, signedOut, showFieldErrors, clearFieldErrors, ApiError };
})();
