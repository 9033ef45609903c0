// The body map (photos/_body_map.html): a picture of the body above the body-site <select> and
// the side radio buttons. Tapping a region, or pressing Enter or Space on it, sets both; choosing
// in the list highlights the region and shows the picture it is in. Without this script the
// select and the radios are the whole form.
//
// The template gives each region data-site (a code from telederm/photos/sites.py) and data-side
// (the person's own left, right or midline); the root lists the sites that take any side
// (data-any-side) or only the midline (data-midline); every other site is paired. Region names
// for screen readers come from the select's own options, so there is one list to translate.
"use strict";

(() => {
  const SIDES_PAIRED = ["left", "right"];
  const SIDES_ANY = ["left", "right", "midline"];

  function setUp(root) {
    if (root.dataset.bodyMapReady) return;
    const select = root.querySelector(".bodymap-fields select");
    const picture = root.querySelector("[data-bodymap-picture]");
    if (!select || !picture) return;
    root.dataset.bodyMapReady = "true";

    const radios = Array.from(root.querySelectorAll('.bodymap-fields input[type="radio"]'));
    const views = Array.from(root.querySelectorAll("[data-view]"));
    const viewButtons = Array.from(root.querySelectorAll("[data-view-button]"));
    const regions = Array.from(picture.querySelectorAll("[data-site]"));
    const words = (value) => new Set((value || "").split(/\s+/).filter(Boolean));
    const anySide = words(root.dataset.anySide);
    const midlineOnly = words(root.dataset.midline);
    const names = new Map(
      Array.from(select.options)
        .filter((option) => option.value)
        .map((option) => [option.value, option.textContent.trim()]),
    );
    const patterns = { left: root.dataset.labelLeft, right: root.dataset.labelRight };

    const sidesOf = (code) =>
      midlineOnly.has(code) ? ["midline"] : anySide.has(code) ? SIDES_ANY : SIDES_PAIRED;

    const makeButton = (element, label) => {
      element.setAttribute("role", "button");
      element.setAttribute("tabindex", "0");
      if (label) element.setAttribute("aria-label", label);
    };

    // Regions for sites this form does not offer stay drawn but inert.
    const live = [];
    for (const region of regions) {
      const name = names.get(region.dataset.site);
      if (!name) {
        region.classList.add("is-unavailable");
        continue;
      }
      const pattern = patterns[region.dataset.side];
      makeButton(region, pattern ? pattern.replace("%(site)s", name) : name);
      region.setAttribute("aria-pressed", "false");
      live.push(region);
    }
    for (const zoom of picture.querySelectorAll("[data-show-view]")) makeButton(zoom, null);

    const checkedSide = () => radios.find((radio) => radio.checked)?.value || "";
    const viewOf = (code) =>
      views.find((view) => view.querySelector(`[data-site="${CSS.escape(code)}"]`));
    const currentView = () => views.find((view) => !view.hidden);

    function show(name, focusInside) {
      for (const view of views) view.hidden = view.dataset.view !== name;
      for (const button of viewButtons) {
        button.setAttribute("aria-pressed", String(button.dataset.viewButton === name));
      }
      if (focusInside) {
        const first = currentView()?.querySelector('[role="button"]');
        if (first) first.focus();
      }
    }

    function refresh() {
      const code = select.value;
      const side = checkedSide();
      for (const region of live) {
        const same = region.dataset.site === code;
        const exact = same && region.dataset.side === side;
        region.classList.toggle("is-chosen", exact);
        region.classList.toggle("is-same-site", same && !exact);
        region.setAttribute("aria-pressed", String(exact));
      }
      // A side the site cannot have is not offered: the nose has no left, an ear no midline.
      const allowed = code ? sidesOf(code) : SIDES_ANY;
      for (const radio of radios) {
        radio.disabled = !allowed.includes(radio.value);
        radio.closest("label")?.classList.toggle("is-disabled", radio.disabled);
      }
    }

    function fitSideTo(code) {
      const allowed = sidesOf(code);
      const checked = radios.find((radio) => radio.checked);
      if (allowed.length === 1) {
        const only = radios.find((radio) => radio.value === allowed[0]);
        if (only) only.checked = true;
      } else if (checked && !allowed.includes(checked.value)) {
        checked.checked = false;
      }
    }

    function choose(code, side) {
      const radio = radios.find((candidate) => candidate.value === side);
      if (radio) radio.checked = true;
      select.value = code;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      if (radio) radio.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function activate(target) {
      if (target.dataset.showView) {
        show(target.dataset.showView, true);
      } else {
        choose(target.dataset.site, target.dataset.side);
      }
    }

    const targetOf = (event) => {
      const target = event.target.closest('[role="button"]');
      return target && picture.contains(target) ? target : null;
    };

    picture.addEventListener("click", (event) => {
      const target = targetOf(event);
      if (target) activate(target);
    });
    picture.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const target = targetOf(event);
      if (!target) return;
      event.preventDefault(); // Space would scroll the page
      activate(target);
    });
    for (const button of viewButtons) {
      button.addEventListener("click", () => show(button.dataset.viewButton, false));
    }

    select.addEventListener("change", () => {
      const code = select.value;
      if (code) {
        fitSideTo(code);
        // Stay in the picture if it shows the site (a shoulder is in front and back), else move.
        const here = currentView()?.querySelector(`[data-site="${CSS.escape(code)}"]`);
        const view = viewOf(code);
        if (!here && view) show(view.dataset.view, false);
      }
      refresh();
    });
    for (const radio of radios) radio.addEventListener("change", refresh);

    const start = select.value ? viewOf(select.value) : null;
    show(start ? start.dataset.view : "front", false);
    if (select.value) fitSideTo(select.value);
    refresh();
    root.classList.add("is-enhanced");
    picture.hidden = false;
  }

  function setUpAll() {
    for (const root of document.querySelectorAll("[data-body-map]")) setUp(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
