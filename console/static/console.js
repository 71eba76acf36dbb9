// Progressive enhancement for the Facility console: every page works without this file.
// It adds live values over server-sent events, auto-submitting selects and arrow keys on the board.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setText(el, text) {
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.remove("changed");
      void el.offsetWidth;
      el.classList.add("changed");
    }
  }

  function applySnapshot(snapshot) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var key = el.getAttribute("data-live").split("|");
      var device = snapshot.devices[key[0]];
      if (device && device.values[key[1]] !== undefined) setText(el, device.values[key[1]]);
    });
    document.querySelectorAll("[data-presence]").forEach(function (el) {
      var device = snapshot.devices[el.getAttribute("data-presence")];
      if (!device) return;
      el.classList.remove("online", "offline", "unknown");
      el.classList.add(device.online === true ? "online" : device.online === false ? "offline" : "unknown");
      setText(el, device.presence);
    });
    document.querySelectorAll("[data-health]").forEach(function (el) {
      var asset = snapshot.assets[el.getAttribute("data-health")];
      if (!asset) return;
      el.className = "badge health-" + asset.health;
      el.title = asset.reason;
      setText(el, asset.label);
    });
  }

  function startStream() {
    var holder = document.querySelector("[data-stream]");
    if (!holder || !window.EventSource) return;
    var indicator = document.getElementById("live-indicator");
    var source = new EventSource(holder.getAttribute("data-stream"));
    source.addEventListener("snapshot", function (event) {
      applySnapshot(JSON.parse(event.data));
      document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
      if (indicator) indicator.textContent = indicator.getAttribute("data-live-label");
    });
    source.addEventListener("error", function () {
      if (indicator) indicator.textContent = indicator.getAttribute("data-stale-label");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // Arrow keys move between cards on the board: up/down within a column, left/right across.
  function boardKeys() {
    var board = document.getElementById("board");
    if (!board) return;
    board.addEventListener("keydown", function (event) {
      var keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
      if (keys.indexOf(event.key) < 0) return;
      var card = event.target.closest(".order");
      if (!card) return;
      var columns = Array.prototype.slice.call(board.querySelectorAll(".column"));
      var column = card.closest(".column");
      var cards = Array.prototype.slice.call(column.querySelectorAll(".order"));
      var target = null;
      var index = cards.indexOf(card);
      if (event.key === "ArrowDown") target = cards[index + 1];
      if (event.key === "ArrowUp") target = cards[index - 1];
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        var step = event.key === "ArrowLeft" ? -1 : 1;
        for (var c = columns.indexOf(column) + step; c >= 0 && c < columns.length; c += step) {
          var next = columns[c].querySelectorAll(".order");
          if (next.length) { target = next[Math.min(index, next.length - 1)]; break; }
        }
      }
      if (target) {
        event.preventDefault();
        target.querySelector("h3 a").focus();
      }
    });
  }

  // SLA countdowns ("in 25 minutes", "2 hours ago") keep counting between page loads; the
  // rounding matches the server's (minutes under 90, hours under 36, then days).
  function countdowns() {
    var els = document.querySelectorAll("[data-countdown]");
    if (!els.length || !window.Intl || !Intl.RelativeTimeFormat) return;
    var format = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "always" });
    function tick() {
      var now = Date.now();
      document.querySelectorAll("[data-countdown]").forEach(function (el) {
        var minutes = (Date.parse(el.getAttribute("data-countdown")) - now) / 60000;
        var size = Math.abs(minutes);
        var text = size < 90 ? format.format(Math.round(minutes), "minute")
          : size < 36 * 60 ? format.format(Math.round(minutes / 60), "hour")
          : format.format(Math.round(minutes / 1440), "day");
        if (el.textContent !== text) el.textContent = text;
      });
    }
    window.setInterval(tick, 30000);
  }

  // The board refreshes itself, unless the dispatcher is typing in it or the tab is hidden.
  function liveBoard() {
    var marker = document.querySelector("[data-live-board]");
    var board = document.getElementById("board");
    if (!marker || !board || !window.fetch || !window.DOMParser) return;
    function refresh() {
      if (document.visibilityState === "hidden") return;
      var active = document.activeElement;
      if (active && active.closest && active.closest("form") && active.tagName !== "BODY") return;
      fetch(marker.getAttribute("data-live-board"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
          if (!fresh) return;
          board.innerHTML = fresh.innerHTML;
          document.body.setAttribute("data-board-refreshes", String(Number(document.body.getAttribute("data-board-refreshes") || 0) + 1));
        })
        .catch(function () { /* the next tick tries again */ });
    }
    var every = Number(marker.getAttribute("data-live-every") || 20000);
    window.setInterval(refresh, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    startStream();
    autoSubmit();
    boardKeys();
    countdowns();
    liveBoard();
  });
})();
