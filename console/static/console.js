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

  document.addEventListener("DOMContentLoaded", function () {
    startStream();
    autoSubmit();
    boardKeys();
  });
})();
