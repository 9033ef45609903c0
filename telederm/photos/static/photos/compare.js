// The compare viewer (photos/_compare.html): two photos of one lesion, side by side or the later
// over the earlier with a slider, zoomed and panned together. Without this script the template's
// list shows every photo side by side; the script reads the photos from that list (data-url,
// data-full-url, each image's alt text and caption), hides it and shows the viewer instead.
//
// Zoom and pan are one state for both photos: `scale`, and the offset `x`, `y` as a fraction of
// the frame, applied as a CSS transform to each photo's layer. Past FULL_AT the full-size files
// are fetched, once, so a slow link pays for them only when someone looks closely.
"use strict";

(() => {
  const MIN_SCALE = 1;
  const MAX_SCALE = 8;
  const STEP = 1.5;
  const FULL_AT = 1.75;
  const PAN_STEP = 0.1;

  const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

  function setUp(root) {
    if (root.dataset.compareReady) return;
    const list = root.querySelector("[data-compare-list]");
    const viewer = root.querySelector("[data-compare-viewer]");
    const items = list ? Array.from(list.children) : [];
    if (!viewer || items.length < 2) return;
    root.dataset.compareReady = "true";

    const photos = items.map((item) => ({
      url: item.dataset.url,
      full: item.dataset.fullUrl,
      alt: item.querySelector("img")?.alt || "",
      caption: (item.querySelector("[data-caption]")?.textContent || "").replace(/\s+/g, " ").trim(),
      date: (item.querySelector("time")?.textContent || "").trim(),
      fullState: "",
    }));

    const stage = viewer.querySelector("[data-stage]");
    const divider = viewer.querySelector("[data-divider]");
    const sliderRow = viewer.querySelector("[data-slider-row]");
    const slider = viewer.querySelector("[data-slider]");
    const level = viewer.querySelector("[data-zoom-level]");
    const zoomIn = viewer.querySelector('[data-zoom="in"]');
    const zoomOut = viewer.querySelector('[data-zoom="out"]');
    const pickA = viewer.querySelector('[data-pick="a"]');
    const pickB = viewer.querySelector('[data-pick="b"]');
    const modeButtons = Array.from(viewer.querySelectorAll("[data-mode]"));
    const percent = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      style: "percent",
      maximumFractionDigits: 0,
    });

    const panes = {};
    for (const key of ["a", "b"]) {
      const pane = viewer.querySelector(`[data-pane="${key}"]`);
      const img = document.createElement("img");
      img.decoding = "async";
      img.draggable = false;
      pane.querySelector(".compare-layer").append(img);
      panes[key] = {
        frame: pane.querySelector(".compare-frame"),
        layer: pane.querySelector(".compare-layer"),
        img,
        caption: pane.querySelector("[data-pane-caption]"),
        link: pane.querySelector("[data-pane-full]"),
        tag: viewer.querySelector(`[data-tag="${key}"]`),
        index: -1,
      };
    }

    const state = { scale: 1, x: 0, y: 0, mode: "side", cut: 50 };

    function show(key, index) {
      const pane = panes[key];
      const photo = photos[index];
      pane.index = index;
      pane.img.alt = photo.alt;
      pane.img.src = photo.fullState === "ready" ? photo.full : photo.url;
      pane.caption.textContent = photo.caption;
      pane.link.href = photo.full || photo.url;
      pane.tag.textContent = photo.date;
    }

    function fitFrames() {
      // Both frames take the earlier photo's shape, so the two photos line up.
      const { naturalWidth: w, naturalHeight: h } = panes.a.img;
      if (!w || !h) return;
      for (const pane of Object.values(panes)) pane.frame.style.aspectRatio = `${w} / ${h}`;
      placeDivider();
    }
    panes.a.img.addEventListener("load", fitFrames);

    function pick() {
      const first = pickA ? Number(pickA.value) : 0;
      const second = pickB ? Number(pickB.value) : photos.length - 1;
      show("a", Math.min(first, second));
      show("b", Math.max(first, second));
      if (state.scale >= FULL_AT) loadFull();
    }

    function loadFull() {
      for (const pane of Object.values(panes)) {
        const photo = photos[pane.index];
        if (!photo || !photo.full || photo.fullState) continue;
        photo.fullState = "loading";
        const probe = new Image();
        probe.addEventListener("load", () => {
          photo.fullState = "ready";
          for (const other of Object.values(panes)) {
            if (photos[other.index] === photo) other.img.src = photo.full;
          }
        });
        probe.addEventListener("error", () => {
          photo.fullState = "failed";
        });
        probe.src = photo.full;
      }
    }

    function placeDivider() {
      if (state.mode !== "slider") return;
      divider.style.left = `${state.cut}%`;
      divider.style.height = `${panes.a.frame.offsetHeight}px`;
    }

    function apply() {
      const transform = `translate(${state.x * 100}%, ${state.y * 100}%) scale(${state.scale})`;
      for (const pane of Object.values(panes)) pane.layer.style.transform = transform;
      panes.b.frame.style.clipPath = state.mode === "slider" ? `inset(0 0 0 ${state.cut}%)` : "";
      placeDivider();
      // Zoomed in, a touch drags the photos; at full view it scrolls the page as usual.
      stage.classList.toggle("is-zoomed", state.scale > MIN_SCALE);
      level.textContent = percent.format(state.scale);
      zoomIn.disabled = state.scale >= MAX_SCALE;
      zoomOut.disabled = state.scale <= MIN_SCALE;
      if (state.scale >= FULL_AT) loadFull();
    }

    function keepInside() {
      state.x = clamp(state.x, 1 - state.scale, 0);
      state.y = clamp(state.y, 1 - state.scale, 0);
    }

    // Zoom about a point of the frame (fractions of its width and height), which stays put.
    function zoomTo(scale, fx = 0.5, fy = 0.5) {
      const next = clamp(scale, MIN_SCALE, MAX_SCALE);
      const px = (fx - state.x) / state.scale;
      const py = (fy - state.y) / state.scale;
      state.x = fx - px * next;
      state.y = fy - py * next;
      state.scale = next;
      keepInside();
      apply();
    }

    function panBy(dx, dy) {
      state.x += dx;
      state.y += dy;
      keepInside();
      apply();
    }

    function cutAt(value) {
      state.cut = clamp(Math.round(value), 0, 100);
      slider.value = String(state.cut);
      apply();
    }

    function setMode(mode) {
      state.mode = mode;
      stage.classList.toggle("is-slider", mode === "slider");
      sliderRow.hidden = mode !== "slider";
      for (const button of modeButtons) {
        button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
      }
      apply();
    }

    const pointInFrame = (frame, clientX, clientY) => {
      const box = frame.getBoundingClientRect();
      return {
        fx: clamp((clientX - box.left) / box.width, 0, 1),
        fy: clamp((clientY - box.top) / box.height, 0, 1),
        box,
      };
    };
    // At 1x in the slider there is nothing to pan, so dragging moves the divider instead.
    const dragsDivider = () => state.mode === "slider" && state.scale === MIN_SCALE;

    const pointers = new Map();
    let dragFrame = null;
    let pinchDistance = 0;

    stage.addEventListener("pointerdown", (event) => {
      const frame = event.target.closest(".compare-frame");
      if (!frame || (event.pointerType === "mouse" && event.button !== 0)) return;
      dragFrame = frame;
      try {
        stage.setPointerCapture(event.pointerId);
      } catch {
        // A pointer that has already gone cannot be captured; the drag still works inside.
      }
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      stage.classList.add("is-dragging");
      if (pointers.size === 2) {
        const [p, q] = Array.from(pointers.values());
        pinchDistance = Math.hypot(p.x - q.x, p.y - q.y);
      } else if (dragsDivider()) {
        cutAt(pointInFrame(dragFrame, event.clientX, event.clientY).fx * 100);
      }
    });

    stage.addEventListener("pointermove", (event) => {
      const last = pointers.get(event.pointerId);
      if (!last || !dragFrame) return;
      const now = { x: event.clientX, y: event.clientY };
      pointers.set(event.pointerId, now);
      if (pointers.size === 2) {
        const [p, q] = Array.from(pointers.values());
        const distance = Math.hypot(p.x - q.x, p.y - q.y);
        if (pinchDistance > 0) {
          const { fx, fy } = pointInFrame(dragFrame, (p.x + q.x) / 2, (p.y + q.y) / 2);
          zoomTo(state.scale * (distance / pinchDistance), fx, fy);
        }
        pinchDistance = distance;
      } else if (dragsDivider()) {
        cutAt(pointInFrame(dragFrame, now.x, now.y).fx * 100);
      } else {
        const box = dragFrame.getBoundingClientRect();
        panBy((now.x - last.x) / box.width, (now.y - last.y) / box.height);
      }
    });

    const release = (event) => {
      pointers.delete(event.pointerId);
      pinchDistance = 0;
      if (pointers.size === 0) {
        dragFrame = null;
        stage.classList.remove("is-dragging");
      }
    };
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);

    stage.addEventListener(
      "wheel",
      (event) => {
        const frame = event.target.closest(".compare-frame");
        if (!frame) return;
        event.preventDefault();
        const { fx, fy } = pointInFrame(frame, event.clientX, event.clientY);
        zoomTo(state.scale * Math.exp(-event.deltaY * 0.0015), fx, fy);
      },
      { passive: false },
    );

    stage.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const horizontal = { ArrowLeft: 1, ArrowRight: -1 }[event.key];
      const vertical = { ArrowUp: 1, ArrowDown: -1 }[event.key];
      if (horizontal && dragsDivider()) {
        cutAt(state.cut - horizontal * 5);
      } else if (horizontal) {
        panBy(horizontal * PAN_STEP, 0);
      } else if (vertical) {
        panBy(0, vertical * PAN_STEP);
      } else if (event.key === "+" || event.key === "=") {
        zoomTo(state.scale * STEP);
      } else if (event.key === "-" || event.key === "_") {
        zoomTo(state.scale / STEP);
      } else if (event.key === "0") {
        zoomTo(MIN_SCALE);
      } else {
        return;
      }
      event.preventDefault();
    });

    zoomIn.addEventListener("click", () => zoomTo(state.scale * STEP));
    zoomOut.addEventListener("click", () => zoomTo(state.scale / STEP));
    viewer.querySelector('[data-zoom="reset"]').addEventListener("click", () => zoomTo(MIN_SCALE));
    for (const button of modeButtons) {
      button.addEventListener("click", () => setMode(button.dataset.mode));
    }
    slider.addEventListener("input", () => cutAt(Number(slider.value)));
    for (const select of [pickA, pickB]) select?.addEventListener("change", pick);
    if ("ResizeObserver" in window) new ResizeObserver(placeDivider).observe(panes.a.frame);

    pick();
    setMode("side");
    list.hidden = true;
    viewer.hidden = false;
  }

  function setUpAll() {
    for (const root of document.querySelectorAll("[data-compare]")) setUp(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
