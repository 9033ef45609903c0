// The review workspace: keyboard shortcuts for the common path, and picking a diagnosis code
// from the search results. Everything here is a shortcut: the page works without it.
// Loaded with `defer` from review/case.html; no inline script (the CSP forbids it).
(function () {
  "use strict";

  function isTyping(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    // Checkboxes, radios and buttons take no text: letters there are still shortcuts.
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "file"].indexOf(type) === -1;
  }

  function press(selector) {
    var button = document.querySelector(selector);
    if (!button) return false;
    var form = button.form;
    if (form && typeof form.requestSubmit === "function") {
      form.requestSubmit(button);
    } else {
      button.click();
    }
    return true;
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    field.focus();
    field.scrollIntoView({ block: "center" });
    return true;
  }

  function photoLinks() {
    return Array.prototype.slice.call(document.querySelectorAll(".photo-large a"));
  }

  function stepPhoto(delta) {
    var links = photoLinks();
    if (!links.length) return false;
    var index = links.indexOf(document.activeElement);
    var next = index === -1 ? (delta > 0 ? 0 : links.length - 1) : index + delta;
    next = Math.max(0, Math.min(links.length - 1, next));
    links[next].focus();
    links[next].scrollIntoView({ block: "center" });
    return true;
  }

  function toggleShortcuts() {
    var list = document.querySelector("[data-shortcuts]");
    if (!list) return false;
    list.open = !list.open;
    if (list.open) list.querySelector("summary").focus();
    return true;
  }

  var letters = {
    t: function () { return press("[data-take-form] button[type=submit]"); },
    a: function () { return focusField("#id_assessment"); },
    d: function () { return focusField("#code-search") || focusField("#id_icd10_codes"); },
    n: function () { return stepPhoto(1); },
    p: function () { return stepPhoto(-1); },
    s: function () { return press("[data-save-draft]"); },
    "?": toggleShortcuts,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (press("[data-sign]")) event.preventDefault();
      return;
    }
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var action = letters[event.key];
    if (action && action()) event.preventDefault();
  });

  // A code picked from the search results goes into the field of its system.
  document.addEventListener("click", function (event) {
    var choice = event.target instanceof Element ? event.target.closest(".code-choice") : null;
    if (!choice || !choice.closest("[data-code-results]")) return;
    event.preventDefault();
    var system = choice.getAttribute("data-code-system");
    var code = choice.getAttribute("data-code");
    var field = document.getElementById("id_" + system + "_codes");
    if (!field || !code) return;
    var codes = field.value.split(/[,;\s]+/).filter(Boolean);
    if (codes.indexOf(code) === -1) codes.push(code);
    field.value = codes.join(", ");
    var results = choice.closest("[data-code-results]");
    var status = document.createElement("p");
    status.setAttribute("role", "status");
    status.className = "muted";
    status.textContent = code + " " + (choice.getAttribute("data-code-title") || "") + " ✓";
    results.replaceChildren(status);
    var search = document.getElementById("code-search");
    if (search) {
      search.value = "";
      search.focus();
    }
  });
})();
