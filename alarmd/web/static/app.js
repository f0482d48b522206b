// alarmd's page works without this file; with it, countdowns stay current, the browser's
// zone is noted when it differs from an alarm's, the day shortcuts work, Delete asks
// once in place, and a test call's outcome appears when it is known.
(function () {
  "use strict";
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  // The same rule as alarmd/web/words.py countdown().
  function countdown(ms) {
    if (ms <= 0) return "now";
    var minutes = Math.ceil(ms / 60000);
    if (minutes < 60) return "in " + minutes + " min";
    var hours = Math.floor(minutes / 60); minutes %= 60;
    if (hours < 48) return "in " + hours + " h" + (minutes ? " " + minutes + " min" : "");
    var days = Math.floor(hours / 24); hours %= 24;
    return "in " + days + " d" + (hours ? " " + hours + " h" : "");
  }

  function tick() {
    var passed = false;
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var ms = new Date(el.getAttribute("data-countdown")).getTime() - Date.now();
      el.textContent = countdown(ms);
      if (ms < -5000) passed = true;
    });
    if (passed) refresh();
  }

  // One formatter for all: toLocaleString builds a new one per call, a hundred per page.
  var yourTime = new Intl.DateTimeFormat([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
  function noteZones(root) {
    root.querySelectorAll("time[data-zone]").forEach(function (el) {
      if (el.getAttribute("data-zone") === browserZone || el.querySelector(".zone-note")) return;
      var mine = yourTime.format(new Date(el.getAttribute("datetime")));
      var note = document.createElement("span");
      note.className = "zone-note";
      note.textContent = mine + " your time (" + browserZone + ")";
      el.appendChild(note);
    });
  }

  // Fetch this page again and swap in the parts marked data-live (no full reload: a form
  // being filled in keeps what was typed).
  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    refreshing = true;
    fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var other = el.id && fresh.getElementById(el.id);
          if (other) { el.replaceWith(other); wire(other); }
        });
      })
      .finally(function () { refreshing = false; });
  }

  function wire(root) {
    noteZones(root);
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var button = event.submitter;
        if (!button || !button.hasAttribute("data-delete") || form.querySelector("input[name=confirm]")) return;
        event.preventDefault();
        var yes = document.createElement("input");
        yes.type = "hidden"; yes.name = "confirm"; yes.value = "yes";
        form.appendChild(yes);
        button.textContent = "Confirm delete";
        button.focus();
      });
    });
  }

  document.querySelectorAll("[data-shortcuts]").forEach(function (box) {
    box.hidden = false;
    box.addEventListener("click", function (event) {
      var days = event.target.getAttribute && event.target.getAttribute("data-days");
      if (!days) return;
      var wanted = days.split(",");
      box.closest("fieldset").querySelectorAll("input[type=checkbox]").forEach(function (input) {
        input.checked = wanted.indexOf(input.name.replace("day_", "")) >= 0;
      });
    });
  });

  wire(document);
  setInterval(tick, 15000);
  setInterval(function () { if (document.querySelector("[data-pending]")) refresh(); }, 2000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); refresh(); } });
})();
