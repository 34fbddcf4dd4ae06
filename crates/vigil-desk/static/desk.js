// The desk's only script: the header's counter of what waits for the
// user, the player seeks to an interruption when its mark
// is clicked (or the page is opened at #t=SECONDS), a spoken explanation
// takes the player's position, and the station status follows its event
// stream. Served from the station itself (Content-Security-Policy:
// script-src 'self'). Every page works without it.
"use strict";
(function () {
  // The header's counter: what waits for this user, asked for when the
  // page opens and every minute.
  var badge = document.getElementById("waiting-count");
  if (badge && window.fetch) {
    var refresh = function () {
      fetch("/desk/waiting", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (doc) {
          if (!doc) return;
          badge.textContent = doc.shown;
          badge.hidden = doc.total === 0;
          badge.parentNode.title = doc.label;
          badge.setAttribute("aria-label", doc.label);
        })
        .catch(function () {});
    };
    refresh();
    window.setInterval(refresh, 60000);
  }
  // A recording's GPS track: the dot goes where the recorder was at the
  // player's time, between the two fixes around it.
  var track = document.getElementById("track");
  var trackPlayer = document.getElementById("player");
  if (track && trackPlayer) {
    var points = JSON.parse(track.getAttribute("data-points") || "[]");
    var dot = document.getElementById("track-pos");
    var follow = function () {
      var t = trackPlayer.currentTime;
      if (!points.length) return;
      var i = 0;
      while (i + 1 < points.length && points[i + 1][0] <= t) i++;
      var a = points[i];
      var b = points[Math.min(i + 1, points.length - 1)];
      var f = b[0] > a[0] ? Math.max(0, Math.min(1, (t - a[0]) / (b[0] - a[0]))) : 0;
      dot.setAttribute("cx", (a[1] + (b[1] - a[1]) * f).toFixed(1));
      dot.setAttribute("cy", (a[2] + (b[2] - a[2]) * f).toFixed(1));
    };
    trackPlayer.addEventListener("timeupdate", follow);
    trackPlayer.addEventListener("seeked", follow);
  }
  // Across an interruption between two recordings: one click plays the end
  // of the one before, then the start of the one after; the line on the
  // timeline (before: 0-400, the interruption: 400-600, after: 600-1000)
  // follows whichever plays.
  var across = document.querySelector("[data-across]");
  if (across) {
    var a = document.getElementById("across-a");
    var b = document.getElementById("across-b");
    var pos = document.getElementById("across-pos");
    var num = function (v, name) { return parseFloat(v.getAttribute(name)) || 0; };
    var at = function (x) { pos.setAttribute("x1", x); pos.setAttribute("x2", x); };
    var part = function (v) {
      var len = Math.max(num(v, "data-length"), 0.1);
      return Math.max(0, Math.min(1, (v.currentTime - num(v, "data-from")) / len));
    };
    a.addEventListener("timeupdate", function () { at(400 * part(a)); });
    b.addEventListener("timeupdate", function () { at(600 + 400 * part(b)); });
    a.addEventListener("ended", function () {
      if (across.getAttribute("data-playing") === "1") {
        at(600);
        b.currentTime = 0;
        b.play();
      }
    });
    b.addEventListener("ended", function () { across.removeAttribute("data-playing"); });
    document.getElementById("play-across").addEventListener("click", function () {
      across.setAttribute("data-playing", "1");
      b.pause();
      b.currentTime = 0;
      a.currentTime = num(a, "data-from");
      a.play();
    });
  }

  var board = document.querySelector("table.board[data-events]");
  if (board && window.EventSource) {
    var body = document.getElementById("board");
    var empty = document.getElementById("board-empty");
    var updated = document.getElementById("updated");
    var events = new EventSource(board.getAttribute("data-events"));
    events.addEventListener("board", function (ev) {
      var doc = JSON.parse(ev.data);
      while (body.firstChild) body.removeChild(body.firstChild);
      doc.rows.forEach(function (row) {
        var tr = document.createElement("tr");
        row.forEach(function (cell) {
          var td = document.createElement("td");
          td.textContent = cell;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      empty.hidden = doc.rows.length > 0;
      var docks = document.getElementById("docks");
      if (docks && doc.docks) {
        while (docks.firstChild) docks.removeChild(docks.firstChild);
        doc.docks.forEach(function (row) {
          var tr = document.createElement("tr");
          tr.className = row[0];
          row[1].forEach(function (cell) {
            var td = document.createElement("td");
            td.textContent = cell;
            tr.appendChild(td);
          });
          docks.appendChild(tr);
        });
        document.getElementById("docks-empty").hidden = doc.docks.length > 0;
      }
      updated.textContent = doc.updated;
      board.setAttribute("data-live", "1");
    });
  }
  var player = document.getElementById("player");
  if (!player) return;
  document.querySelectorAll("button.use-player").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = b.form.querySelector("input[name=at]");
      input.value = (Math.round(player.currentTime * 10) / 10).toFixed(1);
    });
  });
  function seek(t) {
    if (!isFinite(t)) return;
    var go = function () {
      player.currentTime = Math.max(0, t);
      var p = player.play();
      if (p && p.catch) p.catch(function () {});
    };
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
  }
  document.querySelectorAll("[data-seek]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      ev.preventDefault();
      seek(parseFloat(el.getAttribute("data-seek")));
      player.scrollIntoView({ block: "nearest" });
    });
  });
  var m = /^#t=([0-9.]+)$/.exec(location.hash);
  if (m) seek(parseFloat(m[1]));
  // Playback speed, and the keys the page lists: space plays or pauses,
  // the arrows move 5 s, "," and "." one frame, "j" and "k" to the
  // previous and next interruption.
  var speed = document.getElementById("speed");
  if (speed) {
    speed.addEventListener("change", function () {
      player.playbackRate = parseFloat(speed.value) || 1;
    });
  }
  var frame = 1 / (parseFloat(player.getAttribute("data-fps")) || 25);
  var marks = Array.prototype.map
    .call(document.querySelectorAll("a.mark[data-seek]"), function (a) {
      return parseFloat(a.getAttribute("data-seek"));
    })
    .filter(isFinite)
    .sort(function (a, b) { return a - b; });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) return;
    var now = player.currentTime;
    switch (ev.key) {
      case " ":
        if (player.paused) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
        else player.pause();
        break;
      case "ArrowLeft": player.currentTime = Math.max(0, now - 5); break;
      case "ArrowRight": player.currentTime = now + 5; break;
      case ",": player.pause(); player.currentTime = Math.max(0, now - frame); break;
      case ".": player.pause(); player.currentTime = now + frame; break;
      case "j":
        var before = marks.filter(function (s) { return s < now - 0.5; });
        if (before.length) seek(before[before.length - 1]);
        break;
      case "k":
        var after = marks.filter(function (s) { return s > now + 0.5; });
        if (after.length) seek(after[0]);
        break;
      default: return;
    }
    ev.preventDefault();
  });
})();
// A kept checkpoint chosen as a file is read into the text to check.
(function () {
  var file = document.getElementById("kept-file");
  var text = document.getElementById("kept");
  if (!file || !text || !window.FileReader) return;
  file.addEventListener("change", function () {
    if (!file.files.length) return;
    var reader = new FileReader();
    reader.onload = function () { text.value = reader.result; };
    reader.readAsText(file.files[0]);
  });
})();
// A printed report read on the desk: its print button.
(function () {
  var button = document.getElementById("print");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
// A board that keeps itself current: reloaded every 30 s while its box
// is ticked (a reader who needs longer unticks it; WCAG 2.2.1).
(function () {
  var box = document.getElementById("auto-reload");
  if (!box) return;
  window.setInterval(function () {
    if (box.checked) window.location.reload();
  }, 30000);
})();
