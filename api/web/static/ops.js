// The operator console: each model's queue and workers live, the last hour as a chart, the
// scaler's decisions and policy changes, a policy editor, recent predictions with their webhook
// deliveries, and the keys. Admin keys only (the API refuses the calls to anyone else).
"use strict";

(() => {
  const { call, el, when, signIn, signedOut, showFieldErrors, clearFieldErrors } = sdq;
  const LIVE_EVERY_MS = 2000;
  const SLOW_EVERY_MS = 10000;
  const KNOBS = JSON.parse(document.getElementById("policy-knobs").textContent);
  const PAGES_PER_LIST = 5; // a filtered list may come in short pages: follow a few
  let models = [];
  let predictionQuery = new URLSearchParams({ limit: "50" }); // the filter last asked for

  const cell = (field, value, numeric = true) =>
    el("td", { "data-field": field, class: numeric ? "num" : null, text: value === null || value === undefined ? "—" : value });

  function modelRow(model) {
    return el(
      "tr",
      { "data-model": model.id },
      el("th", { scope: "row", text: model.id }),
      cell("status", model.error ? `${model.status}: ${model.error}` : model.status, false),
      cell("queued", model.queued),
      cell("in_flight", model.in_flight),
      cell("workers", model.workers),
      cell("desired", model.desired),
      cell("reason", model.scaling_reason, false),
    );
  }

  async function refreshModels() {
    try {
      const page = await call("v1/models");
      const known = models.map((model) => model.id).join();
      models = page.results;
      document.querySelector("#models tbody").replaceChildren(...models.map(modelRow));
      if (models.map((model) => model.id).join() !== known) fillModelSelects();
      document.getElementById("models-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      if (signedOut(error)) return;
      document.getElementById("models-updated").textContent = `Could not read the models: ${error.message}`;
    }
  }

  // The model pickers, kept on the model chosen where it is still served.
  function fillModelSelects() {
    const options = () => models.map((model) => el("option", { value: model.id, text: model.id }));
    for (const id of ["chart-model", "policy-model", "filter-model"]) {
      const select = document.getElementById(id);
      const chosen = select.value;
      select.replaceChildren(...(id === "filter-model" ? [el("option", { value: "", text: "any" })] : []), ...options());
      if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
    }
  }

  // The last hour in a 600×200 box: queued, workers and the desired count, each a path broken
  // where samples are missing (no API ran, or Redis was away). Time runs on the server's clock.
  async function refreshChart() {
    const model = document.getElementById("chart-model").value;
    if (!model) return;
    const svg = document.getElementById("chart");
    const summary = document.getElementById("chart-summary");
    let history;
    try {
      history = await call(`v1/admin/models/${model}/history?seconds=3600`);
    } catch (error) {
      summary.textContent = `Could not read the history: ${error.message}`;
      return;
    }
    const samples = history.samples;
    const now = new Date(history.now).getTime();
    const start = now - 3600 * 1000;
    const gapMs = history.interval_s * 1500;
    const top = Math.max(1, ...samples.map((s) => Math.max(s.queued, s.workers, s.desired || 0)));
    const x = (ms) => (((ms - start) / (3600 * 1000)) * 600).toFixed(1);
    const y = (value) => (195 - (value / top) * 185).toFixed(1);
    const ns = "http://www.w3.org/2000/svg";
    const shapes = ["queued", "workers", "desired"].map((series) => {
      let d = "";
      let previous = null;
      for (const sample of samples) {
        const at = new Date(sample.time).getTime();
        if (sample[series] === null) {
          previous = null;
          continue;
        }
        d += `${previous === null || at - previous > gapMs ? "M" : "L"}${x(at)},${y(sample[series])} `;
        previous = at;
      }
      const path = document.createElementNS(ns, "path");
      path.setAttribute("class", series);
      path.setAttribute("data-series", series);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("vector-effect", "non-scaling-stroke");
      path.setAttribute("d", d.trim());
      return path;
    });
    svg.replaceChildren(...shapes);
    document.getElementById("chart-top").textContent = `top: ${top}`;
    const last = samples[samples.length - 1];
    const peak = Math.max(0, ...samples.map((s) => s.queued));
    summary.textContent = last
      ? `${model}, one sample every ${history.interval_s} s: now ${last.queued} queued and ${last.workers} workers; at most ${peak} queued in the last hour.`
      : `${model}: no samples yet (one every ${history.interval_s} s).`;
  }

  function changedKnobs(change) {
    const before = change.before ? JSON.parse(change.before) : {};
    const after = change.after ? JSON.parse(change.after) : {};
    const changed = Object.keys(after).filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
    if (!change.before) return "first policy set";
    return changed.map((name) => `${name}: ${before[name] ?? "unset"} → ${after[name] ?? "unset"}`).join("; ") || "no change";
  }

  async function refreshEvents() {
    try {
      const events = await call("v1/admin/scaling/events?limit=50");
      const at = (seconds) => new Date(seconds * 1000).toLocaleString();
      document.querySelector("#decisions tbody").replaceChildren(
        ...events.events.map((event) =>
          el("tr", {}, el("td", { text: at(event.at) }), el("td", { text: event.model }), el("td", { class: "num", text: event.from }), el("td", { class: "num", text: event.to }), el("td", { text: event.reason })),
        ),
      );
      document.querySelector("#policy-changes tbody").replaceChildren(
        ...events.policy_changes.map((change) =>
          el("tr", {}, el("td", { text: at(change.at) }), el("td", { text: change.model }), el("td", { text: change.who }), el("td", { text: changedKnobs(change) })),
        ),
      );
    } catch (error) {
      document.querySelector("#decisions tbody").replaceChildren(el("tr", {}, el("td", { colspan: 5, text: error.message })));
    }
  }

  // One input per knob; an empty optional knob is sent as null (unset).
  // While a model's policy loads, the form is busy and cannot be saved (a save would be wiped
  // by the fields the load puts in); only the newest load fills it.
  let policyLoads = 0;
  async function loadPolicy() {
    const form = document.getElementById("policy-form");
    const model = document.getElementById("policy-model").value;
    const status = document.getElementById("policy-status");
    const load = ++policyLoads;
    clearFieldErrors(form);
    status.textContent = "";
    if (!model) return;
    form.setAttribute("aria-busy", "true");
    form.querySelector("button[type=submit]").disabled = true;
    let policy;
    try {
      policy = await call(`v1/admin/models/${model}/scaling`);
    } catch (error) {
      if (load !== policyLoads) return;
      status.textContent = `Could not read the policy: ${error.message}`;
      status.className = "error";
      form.setAttribute("aria-busy", "false");
      return;
    }
    if (load !== policyLoads) return; // another model was chosen meanwhile
    const fields = KNOBS.map((knob) => {
      const id = `policy-${knob.name}`;
      const value = policy[knob.name];
      return el(
        "div",
        { class: "field" },
        el("label", { for: id, text: knob.name }),
        el("input", {
          id,
          name: knob.name,
          type: "number",
          step: knob.integer ? "1" : "any",
          value: value === null || value === undefined ? "" : value,
          placeholder: knob.optional ? "unset" : null,
          "aria-describedby": `${id}-hint`,
        }),
        el("p", { class: "hint", id: `${id}-hint`, text: knob.description }),
        el("p", { class: "field-error", "data-error-for": knob.name }),
      );
    });
    document.getElementById("policy-fields").replaceChildren(...fields);
    form.dataset.model = model;
    form.setAttribute("aria-busy", "false");
    form.querySelector("button[type=submit]").disabled = false;
  }

  async function savePolicy(event) {
    event.preventDefault();
    const form = event.target;
    const model = document.getElementById("policy-model").value;
    const status = document.getElementById("policy-status");
    const policy = {};
    const unreadable = [];
    for (const knob of KNOBS) {
      const input = form.elements[knob.name];
      if (input.validity.badInput) unreadable.push({ field: knob.name, description: "is not a number" });
      const text = input.value.trim();
      policy[knob.name] = text === "" ? null : Number(text);
    }
    clearFieldErrors(form);
    if (unreadable.length) {
      // Never sent: an unreadable value would read as empty, i.e. unset the knob.
      showFieldErrors(form, { fields: unreadable, message: "" });
      status.textContent = "Not saved.";
      status.className = "error";
      return;
    }
    status.textContent = "Saving…";
    try {
      await call(`v1/admin/models/${model}/scaling`, { method: "PUT", json: policy });
      status.textContent = "Saved: the scaler follows it from its next tick.";
      status.className = "ok";
      refreshEvents();
    } catch (error) {
      if (signedOut(error)) return;
      status.textContent = "Not saved.";
      status.className = "error";
      showFieldErrors(form, error);
    }
  }

  async function showDeliveries(prediction) {
    const box = document.getElementById("deliveries");
    let results;
    box.querySelector("tbody").replaceChildren();
    try {
      ({ results } = await call(`v1/predictions/${prediction.id}/webhooks`));
    } catch (error) {
      if (signedOut(error)) return;
      document.getElementById("deliveries-title").textContent = `Could not read the deliveries of ${prediction.id}: ${error.message}`;
      box.hidden = false;
      return;
    }
    document.getElementById("deliveries-title").textContent = `Webhook deliveries of ${prediction.id}`;
    const rows = results.flatMap((delivery) =>
      (delivery.attempts.length ? delivery.attempts : [null]).map((attempt, index) =>
        el(
          "tr",
          {},
          el("td", { text: delivery.event }),
          el("td", { text: delivery.state + (delivery.reason ? `: ${delivery.reason}` : "") }),
          el("td", { class: "num", text: attempt ? index + 1 : "—" }),
          el("td", { text: attempt ? new Date(attempt.at * 1000).toLocaleString() : "not tried yet" }),
          el("td", { text: attempt ? (attempt.status_code ?? attempt.error) : "" }),
          el("td", { class: "num", text: attempt ? Math.round(attempt.duration_ms) : "" }),
        ),
      ),
    );
    box.querySelector("tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, text: "This prediction has no webhook." }))]));
    box.hidden = false;
  }

  function predictionRow(prediction) {
    const seconds = prediction.metrics && prediction.metrics.predict_time;
    return el(
      "tr",
      { "data-prediction": prediction.id },
      el("td", {}, el("code", { text: prediction.id })),
      el("td", { text: prediction.model }),
      el("td", {}, el("span", { class: `badge ${prediction.status}`, text: prediction.status })),
      el("td", { text: when(prediction.created_at) }),
      el("td", { class: "num", text: seconds ? seconds.toFixed(2) : "—" }),
      el("td", { text: prediction.error || "" }),
      el("td", {}, el("button", { type: "button", class: "secondary", text: "Deliveries", "aria-label": `Webhook deliveries of ${prediction.id}`, onclick: () => showDeliveries(prediction) })),
    );
  }

  // The filter is read when Show is pressed; the periodic refresh repeats that query, and skips
  // a turn while the person is in the table or the filter (so focus and typing stay put).
  async function refreshPredictions(event) {
    const form = document.getElementById("prediction-filter");
    const table = document.getElementById("predictions");
    if (event) {
      event.preventDefault();
      predictionQuery = new URLSearchParams({ limit: "50" });
      for (const name of ["status", "model", "tenant"]) {
        const value = form.elements[name].value.trim();
        if (value) predictionQuery.set(name, value);
      }
      clearFieldErrors(form);
    } else if (form.contains(document.activeElement) || table.contains(document.activeElement)) {
      return;
    }
    try {
      let page = await call(`v1/predictions?${predictionQuery}`);
      const found = [...page.results];
      for (let more = 1; page.next && found.length < 50 && more < PAGES_PER_LIST; more += 1) {
        page = await call(`v1/predictions?${new URL(page.next).searchParams}`);
        found.push(...page.results);
      }
      table.querySelector("tbody").replaceChildren(...found.map(predictionRow));
    } catch (error) {
      if (signedOut(error)) return;
      showFieldErrors(form, error);
    }
  }

  async function refreshKeys() {
    try {
      const { results } = await call("v1/admin/keys");
      const at = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "—");
      document.querySelector("#keys tbody").replaceChildren(
        ...results.map((key) =>
          el(
            "tr",
            { "data-key": key.name },
            el("td", { text: key.name }),
            el("td", {}, el("code", { text: key.id })),
            el("td", { text: key.role }),
            el("td", { text: at(key.created_at) }),
            el("td", { text: at(key.last_used_at) }),
            el("td", { class: "num", text: key.max_queued ?? "—" }),
            el("td", { class: "num", text: key.max_priority ?? "role's" }),
            el("td", {}, el("button", { type: "button", class: "secondary", text: "Revoke", "aria-label": `Revoke ${key.name}'s key ${key.id}`, onclick: () => revokeKey(key) })),
          ),
        ),
      );
      document.getElementById("keys-error").textContent = "";
    } catch (error) {
      document.getElementById("keys-error").textContent = error.message;
    }
  }

  async function revokeKey(key) {
    if (!window.confirm(`Revoke ${key.name}'s key ${key.id}? Calls with it are refused within a second.`)) return;
    try {
      await call(`v1/admin/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    } catch (error) {
      document.getElementById("keys-error").textContent = `Not revoked: ${error.message}`;
    }
    refreshKeys();
  }

  async function createKey(event) {
    event.preventDefault();
    const form = event.target;
    const body = { name: form.elements.name.value.trim(), role: form.elements.role.value };
    if (form.elements.max_queued.value !== "") body.max_queued = Number(form.elements.max_queued.value);
    if (form.elements.max_priority.value !== "") body.max_priority = Number(form.elements.max_priority.value);
    clearFieldErrors(form);
    document.getElementById("new-key").hidden = true;
    try {
      const created = await call("v1/admin/keys", { method: "POST", json: body });
      document.getElementById("new-key-name").textContent = created.name;
      document.getElementById("new-key-secret").value = created.key;
      document.getElementById("new-key").hidden = false;
      document.getElementById("new-key-secret").select();
      form.reset();
      refreshKeys();
    } catch (error) {
      showFieldErrors(form, error);
    }
  }

  // Run `task` now and `ms` after each run ends (never two at once, even when the API is slow).
  function every(ms, task) {
    const run = async () => {
      if (!document.hidden) {
        try {
          await task();
        } catch (error) {
          console.warn(error);
        }
      }
      setTimeout(run, ms);
    };
    run();
  }

  signIn(async (account) => {
    if (account.role !== "admin") {
      document.getElementById("forbidden-text").textContent =
        `You are signed in as ${account.name}, a client key. The operator console needs an admin key: sign out and sign in with one.`;
      document.getElementById("forbidden").hidden = false;
      return;
    }
    document.getElementById("app").hidden = false;
    await refreshModels();
    document.getElementById("chart-model").addEventListener("change", refreshChart);
    document.getElementById("policy-model").addEventListener("change", loadPolicy);
    document.getElementById("policy-form").addEventListener("submit", savePolicy);
    document.getElementById("prediction-filter").addEventListener("submit", refreshPredictions);
    document.getElementById("key-form").addEventListener("submit", createKey);
    loadPolicy();
    refreshKeys();
    every(LIVE_EVERY_MS, refreshModels);
    every(SLOW_EVERY_MS, refreshChart);
    every(SLOW_EVERY_MS, refreshEvents);
    every(SLOW_EVERY_MS, () => refreshPredictions());
  });
})();
