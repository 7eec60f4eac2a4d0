// The freeze link carries its token in the URL fragment (#...), which browsers never send to the
// server, so it appears in no access log. Copy it into the form, which posts it, and drop it from
// the address bar and history.
(function () {
  "use strict";
  var field = document.querySelector("[data-freeze-token]");
  var token = window.location.hash.slice(1);
  if (!field || !token) {
    return;
  }
  field.value = decodeURIComponent(token);
  var wrapper = field.closest(".freeze-token");
  if (wrapper) {
    wrapper.hidden = true;
  }
  history.replaceState(null, "", window.location.pathname + window.location.search);
})();
