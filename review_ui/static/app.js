// Keyboard shortcuts and small conveniences. No inline scripts anywhere (strict CSP).
(function () {
  "use strict";

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr.row-link"));
  }

  function select(delta) {
    var list = rows();
    if (!list.length) return;
    var current = list.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = Math.max(0, Math.min(list.length - 1, current + delta));
    if (current < 0) next = 0;
    list.forEach(function (r) { r.classList.remove("selected"); });
    list[next].classList.add("selected");
    list[next].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = document.querySelector("tr.row-link.selected") || rows()[0];
    var link = row && row.querySelector("a.open");
    if (link) link.click();
  }

  function click(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function focus(selector) {
    var el = document.querySelector(selector);
    if (el) { el.focus(); return true; }
    return false;
  }

  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape") {
      document.querySelectorAll(".help.open").forEach(function (h) { h.classList.remove("open"); });
      if (typing(event)) event.target.blur();
      return;
    }
    if (typing(event)) return;
    if (pendingG) {
      pendingG = false;
      var go = { r: "/review", d: "/dashboards", o: "/ops", a: "/ops/audit" }[event.key];
      if (go) { window.location.assign(go); event.preventDefault(); }
      return;
    }
    switch (event.key) {
      case "j": select(1); break;
      case "k": select(-1); break;
      case "Enter": case "o": openSelected(); break;
      case "/": if (!focus("[data-shortcut-focus]")) return; break;
      case "n": if (!click("[data-shortcut=next]")) return; break;
      case "c": if (!click("[data-shortcut=confirm]")) return; break;
      case "e": if (!focus("[data-shortcut=override]")) return; break;
      case "u": if (!click("[data-shortcut=up]")) return; break;
      case "g": pendingG = true; break;
      case "?": document.querySelectorAll(".help").forEach(function (h) { h.classList.toggle("open"); }); break;
      default: return;
    }
    event.preventDefault();
  });

  // Whole table rows open their ticket.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.row-link");
    if (!row || event.target.closest("a, button, input, select")) return;
    var link = row.querySelector("a.open");
    if (link) link.click();
  });

  // Filters apply as soon as they change (the form still works without script).
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form) form.requestSubmit();
  });
})();
