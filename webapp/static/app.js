/* matcher web app: job progress polling, confirmations, busy buttons. No dependencies. */
(function () {
  "use strict";

  // Poll a job's JSON status and reload the page when it finishes.
  function pollJob(panel) {
    var url = panel.getAttribute("data-job-url");
    var bar = panel.querySelector(".progress span");
    var progress = panel.querySelector(".progress");
    var stage = panel.querySelector(".job-stage");
    var delay = 800;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          var job = body.job || {};
          if (bar) { bar.style.width = (job.progress || 0) + "%"; }
          if (progress) { progress.setAttribute("aria-valuenow", job.progress || 0); }
          if (stage && job.stage_label) { stage.textContent = job.stage_label; }
          if (job.finished) {
            window.location.reload();
            return;
          }
          delay = Math.min(delay * 1.3, 4000);
          window.setTimeout(tick, delay);
        })
        .catch(function () { window.setTimeout(tick, 4000); });
    }
    window.setTimeout(tick, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-job-url]").forEach(pollJob);

    // Ask before destructive actions: <form data-confirm="…">.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });

    // Disable a submit button after the first click so a slow upload is not sent twice.
    document.querySelectorAll("button[data-busy]").forEach(function (button) {
      var form = button.form;
      if (!form) { return; }
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          button.disabled = true;
          button.textContent = button.getAttribute("data-busy");
        }, 0);
      });
    });

    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // Filters submit on change (the button stays for keyboard users and no-JS).
    document.querySelectorAll("form.filters[data-autosubmit] select, form.filters[data-autosubmit] input[type=checkbox]")
      .forEach(function (input) {
        input.addEventListener("change", function () { input.form.submit(); });
      });

    // File pickers show the chosen file's name (the native control's text follows the browser language).
    document.querySelectorAll(".filepick input[type=file]").forEach(function (input) {
      input.addEventListener("change", function () {
        var label = input.parentNode.querySelector(".filename");
        var chosen = input.files && input.files.length ? input.files[0].name : "";
        label.textContent = chosen || label.getAttribute("data-empty");
        input.parentNode.classList.toggle("chosen", !!chosen);
      });
    });

    // Stacked tables on phones: every cell carries its column's header as a label.
    document.querySelectorAll("table.stack").forEach(function (table) {
      var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (headers[index] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", headers[index]); }
        });
      });
    });

    // Tabs that scroll sideways on a phone: bring the active one into view, drop the fade at the end.
    document.querySelectorAll(".tabs").forEach(function (tabs) {
      var active = tabs.querySelector("a.active");
      if (active && tabs.scrollWidth > tabs.clientWidth) {
        tabs.scrollLeft = active.offsetLeft - (tabs.clientWidth - active.offsetWidth) / 2;
      }
      function update() {
        tabs.classList.toggle("scrolled-end", tabs.scrollLeft + tabs.clientWidth >= tabs.scrollWidth - 2);
      }
      tabs.addEventListener("scroll", update);
      update();
    });

    // Print buttons.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
