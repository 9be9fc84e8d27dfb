// Opsconsole's own behaviour. No inline scripts anywhere (the CSP forbids them): pages declare
// intent with data-* attributes and this file wires them up, on load and after every htmx swap.
//
//   <form data-confirm="Really?">                  ask before submitting
//   <form data-confirm-text="TEN-42">              ask to type this text before submitting
//   <button data-dialog-open="freeze-dialog">      open a <dialog id="freeze-dialog">
//   <button data-dialog-close>                     close the enclosing dialog
//   <input type="checkbox" data-select-all="name"> tick every checkbox named `name`
//   <div data-chart="id-of-json-script">           draw a uPlot chart from a json_script
//   [data-hotkey="j"]                              keyboard shortcut that clicks/focuses the element
(function () {
  "use strict";

  function confirmSubmit(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const question = form.dataset.confirm;
    const expected = form.dataset.confirmText;
    if (expected) {
      const field = form.querySelector("[name=confirm_text]");
      const typed = field ? field.value.trim() : window.prompt(`Type ${expected} to confirm`);
      if ((typed || "").trim() !== expected) {
        event.preventDefault();
        event.stopImmediatePropagation();
        if (field) {
          field.setCustomValidity(`Type ${expected} exactly to confirm.`);
          field.reportValidity();
        }
        return;
      }
      if (field) field.setCustomValidity("");
    }
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  // htmx runs its own confirmation for hx-confirm; plain data-confirm forms (with or without
  // hx-post) are checked here before htmx or the browser submits them.
  document.addEventListener("submit", confirmSubmit, true);
  document.addEventListener("htmx:confirm", function (event) {
    const form = event.target.closest && event.target.closest("form[data-confirm], form[data-confirm-text]");
    if (!form || form.dataset.confirmed === "yes") return;
    const fake = new Event("submit", { cancelable: true });
    Object.defineProperty(fake, "target", { value: form });
    confirmSubmit(fake);
    if (fake.defaultPrevented) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        dialog.showModal();
        const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      }
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) {
        event.preventDefault();
        dialog.close();
      }
    }
  });

  // A typed confirmation marked wrong is judged again when it is edited; until then the browser
  // would refuse the submit before the check above could clear it.
  document.addEventListener("input", function (event) {
    if (event.target.name === "confirm_text") event.target.setCustomValidity("");
  });

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (box.dataset && box.dataset.selectAll) {
      document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach(function (other) {
        other.checked = box.checked;
      });
    }
    updateSelectionCounts();
  });

  function updateSelectionCounts() {
    document.querySelectorAll("[data-selection-count]").forEach(function (counter) {
      const name = counter.dataset.selectionCount;
      const count = document.querySelectorAll(`input[type=checkbox][name="${name}"]:checked`).length;
      counter.textContent = count;
      const bar = counter.closest("[data-selection-bar]");
      if (bar) bar.hidden = count === 0;
    });
  }

  // Keyboard: j/k move between rows marked [data-row], x ticks the current row's checkbox,
  // and [data-hotkey] elements respond to their key. Typing in a field is never intercepted.
  let current = -1;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) || event.target.isContentEditable) return;
    const rows = Array.from(document.querySelectorAll("[data-row]"));
    if ((event.key === "j" || event.key === "k") && rows.length) {
      current = Math.max(0, Math.min(rows.length - 1, current + (event.key === "j" ? 1 : -1)));
      rows.forEach(function (row, index) { row.classList.toggle("highlight", index === current); });
      rows[current].scrollIntoView({ block: "nearest" });
      event.preventDefault();
      return;
    }
    if (event.key === "x" && rows[current]) {
      const box = rows[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; updateSelectionCounts(); }
      event.preventDefault();
      return;
    }
    const scope = rows[current] || document;
    const target = scope.querySelector(`[data-hotkey="${event.key}"]`) || document.querySelector(`[data-hotkey="${event.key}"]:not([data-row] [data-hotkey])`);
    if (target) {
      event.preventDefault();
      if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) target.focus();
      else target.click();
      // A hotkey on a <summary> opens its <details>: put the cursor in its first field.
      if (target.tagName === "SUMMARY") {
        const field = target.parentElement.querySelector("input:not([type=hidden]), textarea");
        if (field) field.focus();
      }
    }
  });

  // Charts: <div data-chart="json-id"> with a json_script of {"series": [...], "data": [[x...], [y...]]}.
  function drawCharts(root) {
    if (typeof window.uPlot !== "function") return;
    root.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (holder) {
      const source = document.getElementById(holder.dataset.chart);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      const width = Math.max(320, holder.clientWidth || 600);
      const options = {
        width: width,
        height: spec.height || 220,
        series: [{}].concat(spec.series.map(function (series) {
          return { label: series.label, stroke: series.color || "#2f6fde", width: 1.6, fill: series.fill || undefined, dash: series.dash || undefined, scale: series.scale || "y" };
        })),
        axes: [{}, { label: spec.yLabel || "" }].concat(spec.y2Label ? [{ side: 1, scale: "y2", label: spec.y2Label, grid: { show: false } }] : []),
        scales: { x: { time: spec.time !== false } },
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
      };
      holder.dataset.drawn = "yes";
      new window.uPlot(options, spec.data, holder);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); updateSelectionCounts(); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); updateSelectionCounts(); });
  // A dialog whose form succeeded closes itself when the server says so (HX-Trigger: close-dialogs).
  document.addEventListener("close-dialogs", function () {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) { dialog.close(); });
  });
})();
