// The desk's only script: the player seeks to an interruption when its mark
// is clicked (or the page is opened at #t=SECONDS). Served from the station
// itself (Content-Security-Policy: script-src 'self').
"use strict";
(function () {
  var player = document.getElementById("player");
  if (!player) return;
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
})();
