// Resumable photo upload for every `<form data-photo-uploader>` (photos/_upload_form.html).
//
// Without this script the form posts the photo to its `action` (the no-JS path). With it, picking
// or taking a photo starts at once: Uppy shrinks it in the browser (Compressor), sends it with tus
// to `data-endpoint` in resumable pieces (Tus), and keeps it in IndexedDB until the server has it
// all (Golden Retriever), so a dropped connection, a phone going offline or a reloaded page
// resumes where it stopped instead of starting again on a slow mobile link.
//
// Everything the person reads comes from the page: `<script type="application/json"
// id="uploader-strings">` (translated by the template), numbers formatted for `<html lang>`.
// Nothing here writes inline style or evaluates code (ADR 0008).
import "./polyfills.js"; // first: before Uppy's modules run
import Compressor from "@uppy/compressor";
import Uppy from "@uppy/core";
import GoldenRetriever from "@uppy/golden-retriever";
import Tus from "@uppy/tus";

// English fallbacks, used only if the page leaves a string out.
const DEFAULT_STRINGS = {
  progress: "Upload",
  preparing: "Preparing the photo…",
  uploading: "Uploading {percent}",
  waiting: "Waiting for connection — will resume",
  resuming: "Resuming the unfinished upload",
  sent: "Sent",
  failed: "Failed: {message}",
  compressed: "Compressed {before} → {after}",
  tooLarge: "the photo is {size}, the limit is {limit}.",
  noAnswer: "the server did not take the photo. Try again.",
};

// tus-js-client's own retries after a dropped request (milliseconds before each attempt); the
// counter starts again whenever bytes get through. After the last one the upload waits for the
// browser's `online` event or RETRY_LATER_MS, and tries again, for as long as the page is open.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
const RETRY_LATER_MS = 30000;
// One PATCH per MiB: a connection that drops loses at most the piece in flight, even if the
// server keeps nothing of an interrupted request (20 s of sending at 400 kbit/s).
const CHUNK_BYTES = 1024 * 1024;
// Statuses after which the same request can succeed later: no answer, too busy, a gateway down
// during a deployment. Anything else is the server's refusal, shown as it is.
const TRANSIENT = new Set([0, 408, 429, 502, 503, 504]);

const controllers = new Map(); // lesion UUID → Controller; survives htmx swapping the form
let pageStrings = null;

function strings() {
  if (pageStrings === null) {
    const element = document.getElementById("uploader-strings");
    let parsed = {};
    try {
      parsed = element ? JSON.parse(element.textContent) : {};
    } catch {
      parsed = {};
    }
    pageStrings = { ...DEFAULT_STRINGS, ...parsed };
  }
  return pageStrings;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function language() {
  return document.documentElement.lang || undefined;
}

function formatBytes(bytes) {
  const mega = bytes >= 1e6;
  const value = mega ? bytes / 1e6 : bytes / 1e3;
  try {
    return new Intl.NumberFormat(language(), {
      style: "unit",
      unit: mega ? "megabyte" : "kilobyte",
      maximumFractionDigits: mega ? 1 : 0,
    }).format(value);
  } catch {
    return `${value.toFixed(mega ? 1 : 0)} ${mega ? "MB" : "kB"}`;
  }
}

function formatPercent(fraction) {
  try {
    return new Intl.NumberFormat(language(), { style: "percent" }).format(fraction);
  } catch {
    return `${Math.round(fraction * 100)} %`;
  }
}

// A file is prepared once: compressed, then named for the server. A retry or a resumed upload
// runs the pre-processors again, and compressing the compressed photo would change the bytes
// under an upload the server already holds part of.
function isPrepared(file) {
  return Boolean(file && file.meta.filetype);
}

class CompressOnce extends Compressor {
  prepareUpload(fileIDs) {
    return super.prepareUpload(fileIDs.filter((id) => !isPrepared(this.uppy.getFile(id))));
  }
}

// The reason the server gave (plain text, or JSON with detail/message/error); never an HTML page.
function serverReason(error) {
  const response = error && error.originalResponse;
  if (!response || typeof response.getBody !== "function") return "";
  let text = response.getBody() || "";
  const type = response.getHeader("Content-Type") || "";
  if (type.includes("json")) {
    try {
      const body = JSON.parse(text);
      text = body.detail || body.message || body.error || "";
    } catch {
      text = "";
    }
  } else if (type.includes("html")) {
    text = "";
  }
  return String(text).trim().slice(0, 300);
}

function responseStatus(error) {
  const response = error && error.originalResponse;
  return response && typeof response.getStatus === "function" ? response.getStatus() : 0;
}

// `hidden`, and display none through the CSSOM (which the policy allows) because a stylesheet
// rule such as `button { display: inline-flex }` outranks the browser's own `[hidden]` rule.
function setHidden(node, hidden) {
  node.hidden = hidden;
  node.style.display = hidden ? "none" : "";
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// The visible, accessible status: a labelled <progress>, a polite live region that speaks at
// state changes and every 10 %, and the compression result in small print.
class StatusView {
  constructor(idBase) {
    const text = strings();
    this.root = element("div", "upload-status");
    this.label = element("label");
    this.label.htmlFor = `${idBase}-progress`;
    this.label.textContent = text.progress;
    this.bar = element("progress");
    this.bar.id = `${idBase}-progress`;
    this.bar.max = 100;
    this.bar.value = 0;
    this.message = element("p", "upload-message");
    this.message.setAttribute("role", "status");
    this.message.setAttribute("aria-live", "polite");
    this.detail = element("p", "upload-detail");
    this.small = element("small");
    this.detail.append(this.small);
    this.showBar(false);
    setHidden(this.detail, true);
    this.root.append(this.label, this.bar, this.message, this.detail);
    this.spokenStep = -1;
  }

  showBar(shown) {
    setHidden(this.label, !shown);
    setHidden(this.bar, !shown);
  }

  preparing() {
    this.showBar(true);
    this.bar.removeAttribute("value"); // indeterminate while the phone shrinks the photo
    setHidden(this.detail, true);
    this.spokenStep = -1;
    this.setState("preparing", strings().preparing);
  }

  progress(fraction) {
    this.showBar(true);
    this.bar.value = Math.round(fraction * 100);
    const step = Math.floor(fraction * 10);
    if (step !== this.spokenStep || this.root.dataset.state !== "uploading") {
      this.spokenStep = step;
      this.setState("uploading", fill(strings().uploading, { percent: formatPercent(step / 10) }));
    }
  }

  waiting() {
    this.setState("waiting", strings().waiting);
  }

  resuming(fraction) {
    this.showBar(true);
    this.bar.value = Math.round(fraction * 100);
    this.setState("resuming", strings().resuming);
  }

  sent() {
    this.bar.value = 100;
    this.setState("sent", strings().sent);
  }

  failed(reason) {
    this.showBar(false);
    this.setState("failed", fill(strings().failed, { message: reason || strings().noAnswer }));
  }

  compressed(before, after) {
    if (!before || !after || after >= before) return;
    this.small.textContent = fill(strings().compressed, {
      before: formatBytes(before),
      after: formatBytes(after),
    });
    setHidden(this.detail, false);
  }

  // Back to rest: the server's panel now shows the photo (checked, or refused with its reason),
  // so "Sent. The photo is being checked." would only be stale.
  clear() {
    this.showBar(false);
    setHidden(this.detail, true);
    this.setState("idle", "");
  }

  setState(state, text) {
    this.root.dataset.state = state;
    if (this.message.textContent !== text) this.message.textContent = text;
  }
}

// One uploader per lesion: its Uppy instance (and Golden Retriever's IndexedDB store, named after
// it) outlives the form element, which htmx may replace when it refreshes the lesion's photos.
class Controller {
  constructor(form) {
    const data = form.dataset;
    this.lesion = data.lesion;
    this.maxBytes = Number(data.maxBytes) || Infinity;
    this.view = new StatusView(form.id || `upload-${this.lesion}`);
    this.retryTimer = null;
    this.giveUp = new Set(); // files the server refused: not retried, not restored
    this.sentBytes = new Map(); // file ID → bytes the server has or is receiving
    this.uppy = new Uppy({
      id: `telederm-photos-${this.lesion}`,
      autoProceed: false,
      meta: { case: data.case, lesion: data.lesion },
    });
    this.listen();
    const longEdge = Number(data.longEdge) || 2560;
    this.uppy.use(CompressOnce, {
      quality: Number(data.quality) || 0.85,
      maxWidth: longEdge,
      maxHeight: longEdge,
      mimeType: "image/jpeg",
      // compressorjs returns the original when its result would be larger and it did not need
      // resizing (`strict`): a photo already small enough is sent as it is.
      strict: true,
      limit: 1, // one 12-megapixel decode at a time on a phone
    });
    this.uppy.addPreProcessor((fileIDs) => this.finishPreparing(fileIDs));
    this.uppy.use(Tus, {
      endpoint: data.endpoint,
      headers: { "X-CSRFToken": data.csrfToken },
      allowedMetaFields: ["case", "lesion", "kind", "filename", "filetype"],
      retryDelays: RETRY_DELAYS,
      chunkSize: CHUNK_BYTES,
      removeFingerprintOnSuccess: true,
      limit: 1,
      onShouldRetry: (error, attempt, options, next) => {
        const retry = next(error);
        if (retry) this.view.waiting();
        return retry;
      },
    });
    // Last, so its `restored` event finds the listeners above; no service worker (IndexedDB
    // keeps the blobs, which is what a reload needs).
    this.uppy.use(GoldenRetriever, { serviceWorker: false });
    this.attach(form);
  }

  attach(form) {
    this.form = form;
    const input = form.querySelector('input[type="file"]');
    for (const button of form.querySelectorAll('button[type="submit"], input[type="submit"]')) {
      setHidden(button, true); // the photo goes as soon as it is chosen
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault(); // tus instead of the no-JS post
      if (input && input.files.length) this.add(input);
    });
    if (input) input.addEventListener("change", () => this.add(input));
    form.append(this.view.root); // moves it out of a form that htmx replaced
    // On a slow link the person may have chosen a photo before this script arrived: send it.
    if (input && input.files.length) this.add(input);
  }

  add(input) {
    // The input's own form: if htmx replaced the form while the camera was open, the new one
    // shows the default kind, not the one the person chose.
    const form = input.form || this.form;
    const kindField = form.elements.namedItem("kind");
    const kind = kindField ? kindField.value : "";
    const files = Array.from(input.files);
    input.value = ""; // the same photo can be chosen again; nothing is left for a plain post
    let added = 0;
    for (const file of files) {
      try {
        this.uppy.addFile({
          name: file.name,
          type: file.type,
          data: file,
          source: "file-input",
          meta: { kind, originalSize: file.size },
        });
        added += 1;
      } catch (error) {
        // Uppy's only restriction here is "no duplicates": that photo is already on its way.
        if (!error.isRestriction) this.view.failed(error.message);
      }
    }
    if (!added) return;
    this.view.preparing();
    this.upload(() => this.uppy.upload());
  }

  upload(start) {
    // Failures reach `upload-error` (per file) and are shown there.
    start().catch(() => {});
  }

  // After the Compressor: refuse what is still too large before a byte is sent, and name the
  // file as it will arrive (tus metadata `filename`, `filetype`).
  async finishPreparing(fileIDs) {
    for (const id of fileIDs) {
      const file = this.uppy.getFile(id);
      if (!file || isPrepared(file)) continue;
      if (file.size > this.maxBytes) {
        const limits = { size: formatBytes(file.size), limit: formatBytes(this.maxBytes) };
        this.view.failed(fill(strings().tooLarge, limits));
        this.uppy.removeFile(id); // the rest of the batch goes on
        continue;
      }
      this.uppy.setFileMeta(id, { filename: file.meta.name, filetype: file.meta.type || file.type });
      this.view.compressed(file.meta.originalSize, file.size);
    }
  }

  // Bytes sent of the files on their way, as tus-js-client last reported them. Uppy's own file
  // progress is not used: a request that breaks can report its whole body as sent, and Uppy keeps
  // a file at 100 % from then on, while the server may have only part of it.
  fraction() {
    let sent = 0;
    let total = 0;
    for (const file of this.uppy.getFiles()) {
      const size = file.size || 0;
      total += size;
      sent += file.progress.uploadComplete ? size : Math.min(this.sentBytes.get(file.id) || 0, size);
    }
    return total ? sent / total : 0;
  }

  listen() {
    const uppy = this.uppy;
    uppy.on("preprocess-progress", () => this.view.preparing());
    uppy.on("upload-progress", (file, progress) => {
      // "All sent" is for upload-success to say, once the server has confirmed it.
      if (!file || progress.bytesUploaded >= progress.bytesTotal) return;
      this.sentBytes.set(file.id, progress.bytesUploaded);
      this.view.progress(this.fraction());
    });
    uppy.on("is-offline", () => {
      if (this.busy()) this.view.waiting();
    });
    uppy.on("upload-success", () => {
      if (!this.uppy.getFiles().some((file) => !file.progress.uploadComplete)) this.view.sent();
    });
    uppy.on("upload-error", (file, error) => {
      const status = responseStatus(error);
      if (TRANSIENT.has(status)) {
        this.view.waiting();
        this.retryLater();
      } else {
        this.giveUp.add(file.id);
        this.view.failed(serverReason(error));
      }
    });
    uppy.on("complete", (result) => {
      const done = result.successful.map((file) => file.id);
      const refused = result.failed.filter((file) => this.giveUp.has(file.id));
      for (const file of refused) this.giveUp.delete(file.id);
      const finished = [...done, ...refused.map((file) => file.id)];
      for (const id of finished) this.sentBytes.delete(id);
      if (finished.length) this.uppy.removeFiles(finished.filter((id) => this.uppy.getFile(id)));
      if (done.length) this.refreshList();
    });
    uppy.on("restored", () => {
      const ghosts = uppy.getFiles().filter((file) => file.isGhost);
      if (ghosts.length) uppy.removeFiles(ghosts.map((file) => file.id));
      const files = uppy.getFiles();
      if (!files.length) return;
      for (const file of files) {
        const before = file.progress.bytesUploaded || 0;
        this.sentBytes.set(file.id, before < file.size ? before : 0); // HEAD will tell
      }
      this.view.resuming(this.fraction());
      const first = files[0];
      this.view.compressed(first.meta.originalSize, first.size);
      uppy.emit("restore-confirmed"); // no question to answer: carry on sending
    });
  }

  busy() {
    return this.uppy.getFiles().some((file) => !file.progress.uploadComplete);
  }

  // After tus-js-client has given up: try again when the browser says it is back online, and
  // every RETRY_LATER_MS while it claims to be online (mobile links often stay "online" and dead).
  retryLater() {
    if (this.retryTimer !== null) return;
    const retry = () => {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      window.removeEventListener("online", retry);
      if (!navigator.onLine) {
        this.retryLater();
        return;
      }
      this.upload(() => this.uppy.retryAll());
    };
    window.addEventListener("online", retry);
    this.retryTimer = setTimeout(retry, RETRY_LATER_MS);
  }

  // The server's fragment for this lesion's photos replaces the `[data-photo-list]` element
  // around the form. Through htmx (on every page, base.html): the request carries
  // `HX-Request: true`, and the fragment's own hx- attributes (polling while the new photo is
  // checked) come alive; its new form is enhanced on `htmx:load` below.
  refreshList() {
    const url = this.form.dataset.statusUrl;
    const target = this.form.closest("[data-photo-list]");
    if (url && target && window.htmx) window.htmx.ajax("GET", url, { target, swap: "outerHTML" });
  }
}

function enhance(root) {
  const forms = root.matches && root.matches("form[data-photo-uploader]") ? [root] : [];
  forms.push(...root.querySelectorAll("form[data-photo-uploader]"));
  for (const form of forms) {
    if (form.dataset.photoUploaderReady) continue;
    form.dataset.photoUploaderReady = "true";
    const existing = controllers.get(form.dataset.lesion);
    if (existing) existing.attach(form);
    else controllers.set(form.dataset.lesion, new Controller(form));
  }
}

// A lesion's photos as the server last drew them (photos/_lesion_photos.html): once none is
// still being checked (`data-photos-checked`), its uploader's "Sent" message has done its work.
function settle(root) {
  const lists = root.matches && root.matches("[data-photos-checked]") ? [root] : [];
  lists.push(...root.querySelectorAll("[data-photos-checked]"));
  for (const list of lists) {
    const controller = controllers.get(list.dataset.lesion);
    if (controller && controller.view.root.dataset.state === "sent") controller.view.clear();
  }
}

enhance(document);
// htmx swaps in new fragments (a refreshed photo list with its upload form): enhance them too.
document.addEventListener("htmx:load", (event) => {
  enhance(event.detail.elt);
  settle(event.detail.elt);
});
