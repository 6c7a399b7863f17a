// The signed-out page: once each application's front-channel logout frame has loaded (or after three
// seconds, whichever comes first), continues to the post_logout_redirect_uri. Served as a file: the
// pages allow no inline script. Without JavaScript, the "Continue" link does the same.
(function () {
  var next = document.getElementById("next");
  if (!next) return;
  var go = function () { window.location.assign(next.getAttribute("href")); };
  var frames = document.querySelectorAll("iframe.logout");
  var left = frames.length;
  if (left === 0) { go(); return; }
  frames.forEach(function (f) {
    f.addEventListener("load", function () { left -= 1; if (left === 0) go(); });
  });
  setTimeout(go, 3000);
})();
