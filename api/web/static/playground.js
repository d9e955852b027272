// The playground: submit a prediction from the form, follow its stream (queue place, progress,
// step previews), show the finished images with their parameters, and the caller's gallery.
"use strict";

(() => {
  const { call, follow, el, when, safeUrl, signIn, signedOut, showFieldErrors, clearFieldErrors } = sdq;
  const form = document.getElementById("generate");
  const statusLine = document.getElementById("status");
  const progress = document.getElementById("progress");
  const preview = document.getElementById("preview");
  const stepLine = document.getElementById("step");
  const results = document.getElementById("results");
  const gallery = document.getElementById("gallery");
  const generateButton = document.getElementById("generate-button");
  const cancelButton = document.getElementById("cancel");
  const GALLERY_SIZE = 24;
  const NUMBERS = ["width", "height", "num_inference_steps", "num_outputs", "seed"];
  let current = null; // { id, controller }: the prediction being followed
  let busy = false; // from the Generate press until the run ends: one run at a time
  let galleryQuery = "status=succeeded"; // an admin's gallery: their own tenant's only

  function say(text, kind = "") {
    statusLine.textContent = text;
    statusLine.className = kind;
  }

  function setProgress(fraction) {
    const percent = Math.round(fraction * 100);
    progress.value = percent;
    progress.textContent = `${percent}%`;
    progress.setAttribute("aria-valuetext", `${percent}%`);
  }

  async function loadModels() {
    const { results: models } = await call("v1/models");
    const select = document.getElementById("model");
    select.replaceChildren(...models.map((model) => el("option", { value: model.id, text: model.id })));
    const limit = (model) => {
      for (const name of ["width", "height"]) {
        const input = document.getElementById(name);
        input.min = model.limits.min_size;
        input.max = model.limits.max_size;
      }
    };
    const chosen = () => models.find((model) => model.id === select.value);
    select.addEventListener("change", () => limit(chosen()));
    if (models.length) limit(models[0]);
  }

  function readInput() {
    const data = new FormData(form);
    const input = {};
    for (const [name, value] of data.entries()) {
      if (name === "model" || value === "") continue;
      input[name] = NUMBERS.includes(name) ? Number(value) : name === "guidance_scale" ? Number(value) : value;
    }
    // A preview about every tenth of the way (the tiny steps of a short run each get one).
    const steps = input.num_inference_steps || 20;
    input.preview_every = Math.max(1, Math.round(steps / 10));
    return { model: data.get("model"), input };
  }

  function describeQueue(update) {
    if (update.queue_position === null || update.queue_position === undefined) return "Queued.";
    const ahead = update.queue_position === 0 ? "next in line" : `${update.queue_position} ahead`;
    const eta = update.eta ? `, done about ${new Date(update.eta).toLocaleTimeString()}` : "";
    return `Queued: ${ahead}${eta}.`;
  }

  function parameters(prediction) {
    const input = prediction.input || {};
    const shown = [
      ["Prompt", input.prompt],
      ["Negative", input.negative_prompt],
      ["Size", input.width && `${input.width}×${input.height}`],
      ["Steps", input.num_inference_steps],
      ["Guidance", input.guidance_scale],
      ["Sampler", input.scheduler],
      ["Seed", input.seed],
      ["Model", prediction.model],
    ].filter(([, value]) => value !== undefined && value !== null && value !== "");
    return el("dl", {}, shown.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
  }

  // The prediction object saved as a file; its blob is made on click and freed after.
  function jsonLink(prediction) {
    const link = el("a", { href: "#", download: `${prediction.id}.json`, text: `Prediction ${prediction.id} (JSON)` });
    link.addEventListener("click", () => {
      const blob = new Blob([JSON.stringify(prediction, null, 2)], { type: "application/json" });
      link.href = URL.createObjectURL(blob);
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    });
    return link;
  }

  function figure(prediction, url, index) {
    const alt = `Image ${index + 1} for “${(prediction.input || {}).prompt || ""}”`;
    return el(
      "figure",
      {},
      el("a", { href: safeUrl(url) }, el("img", { src: safeUrl(url), alt, loading: "lazy" })),
      el("figcaption", {}, parameters(prediction), jsonLink(prediction)),
    );
  }

  function finished(prediction) {
    cancelButton.disabled = true;
    generateButton.disabled = false;
    current = null;
    busy = false;
    preview.hidden = true;
    if (prediction.status === "succeeded") {
      setProgress(1);
      const seconds = prediction.metrics && prediction.metrics.predict_time;
      say(`Done${seconds ? ` in ${seconds.toFixed(1)} s` : ""}.`, "ok");
      results.replaceChildren(...(prediction.output || []).map((url, index) => figure(prediction, url, index)));
      loadGallery();
    } else {
      say(`${prediction.status[0].toUpperCase()}${prediction.status.slice(1)}: ${prediction.error || "no image"}.`, prediction.status === "canceled" ? "" : "error");
    }
  }

  async function generate(event) {
    event.preventDefault();
    if (busy) return; // Ctrl+Enter twice, or while a run goes on
    busy = true;
    clearFieldErrors(form);
    const { model, input } = readInput();
    generateButton.disabled = true;
    say("Submitting…");
    setProgress(0);
    stepLine.textContent = "";
    results.replaceChildren();
    let prediction;
    try {
      prediction = await call(`v1/models/${model}/predictions`, { method: "POST", json: { input } });
    } catch (error) {
      busy = false;
      generateButton.disabled = false;
      if (signedOut(error)) return;
      if (error.fields && error.fields.length) showFieldErrors(form, error);
      say(`Not submitted: ${error.message}`, "error");
      return;
    }
    const controller = new AbortController();
    current = { id: prediction.id, controller };
    cancelButton.disabled = false;
    say(describeQueue(prediction));
    try {
      await follow(`v1/predictions/${prediction.id}/stream`, (type, data) => {
        const body = JSON.parse(data);
        if (type === "queued" && body.status === "queued") say(describeQueue(body));
        else if (type === "started") say("Drawing…");
        else if (type === "progress") {
          setProgress(body.step / body.total);
          stepLine.textContent = `Step ${body.step} of ${body.total}`;
        }
        else if (type === "preview") {
          preview.src = body.image;
          preview.hidden = false;
        } else if (type === "completed") {
          finished(body);
          return true;
        }
        return false;
      }, controller.signal);
    } catch (error) {
      if (error.name === "AbortError") return;
      if (signedOut(error)) return;
      say(`Lost the progress stream: ${error.message}. The prediction goes on; see your gallery.`, "error");
      generateButton.disabled = false;
      cancelButton.disabled = true;
      current = null;
      busy = false;
    }
  }

  async function cancel() {
    if (!current) return;
    const { id } = current;
    cancelButton.disabled = true;
    const running = () => current && current.id === id; // not finished meanwhile
    try {
      await call(`v1/predictions/${id}/cancel`, { method: "POST" });
      if (running()) say("Canceling…");
    } catch (error) {
      if (!running() || signedOut(error)) return;
      say(`Could not cancel: ${error.message}`, "error");
      cancelButton.disabled = false;
    }
  }

  async function loadGallery() {
    try {
      const page = await call(`v1/predictions?${galleryQuery}&limit=${GALLERY_SIZE}`);
      const shown = page.results.filter((prediction) => prediction.output && prediction.output.length);
      gallery.replaceChildren(
        ...(shown.length
          ? shown.map((prediction) => {
              const item = figure(prediction, prediction.output[0], 0);
              item.querySelector("figcaption").prepend(el("p", { text: when(prediction.created_at) }));
              return item;
            })
          : [el("p", { text: "No images yet." })]),
      );
    } catch (error) {
      if (signedOut(error)) return;
      gallery.replaceChildren(el("p", { class: "error", text: `Could not load the gallery: ${error.message}` }));
    }
  }

  form.addEventListener("submit", generate);
  document.getElementById("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  cancelButton.addEventListener("click", cancel);
  document.getElementById("refresh-gallery").addEventListener("click", loadGallery);

  signIn(async (account) => {
    if (account.role === "admin" && account.key_id !== null) {
      galleryQuery += `&tenant=${encodeURIComponent(account.username)}`; // not every tenant's
    }
    document.getElementById("app").hidden = false;
    try {
      await loadModels();
    } catch (error) {
      say(`Could not list the models: ${error.message}`, "error");
    }
    loadGallery();
  });
})();
