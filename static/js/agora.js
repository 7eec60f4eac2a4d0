/* Agora page behaviour. Strings come from the JavaScript catalog (gettext). No inline scripts: the
   CSP allows scripts from this origin only. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language menu switches as soon as a language is picked.
  document.querySelectorAll("select[data-autosubmit], input[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // Copy buttons (API key and secret).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.dataset.copy);
      if (!target || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        var original = button.textContent;
        button.textContent = gettext("Copied");
        setTimeout(function () { button.textContent = original; }, 2000);
      }, function () {
        button.textContent = gettext("Copy failed: select the text and copy it by hand");
      });
    });
  });

  // Live fragments (pending deposits and their confirmations) reload themselves.
  document.querySelectorAll("[data-refresh]").forEach(function (box) {
    var seconds = parseInt(box.dataset.refreshSeconds || "10", 10);
    setInterval(function () {
      fetch(box.dataset.refresh, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null) { box.innerHTML = html; }
      }).catch(function () {});
    }, seconds * 1000);
  });

  // Address-book shortcuts fill the withdrawal form.
  document.querySelectorAll("[data-fill-address]").forEach(function (button) {
    button.addEventListener("click", function () {
      var form = button.closest("form");
      form.querySelector("[name=address]").value = button.dataset.fillAddress;
      form.querySelector("[name=memo]").value = button.dataset.fillMemo;
      form.querySelector("[name=network]").value = button.dataset.fillNetwork;
    });
  });

  // Signed-in pages listen for account events: a freeze from another device ends this page too.
  if (document.body.dataset.accountEvents && "WebSocket" in window) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try { socket = new WebSocket(scheme + location.host + "/ws/account/"); } catch (e) { return; }
    socket.addEventListener("message", function (message) {
      var data = JSON.parse(message.data);
      if (data.event === "account.frozen") {
        window.alert(gettext("Your account has been frozen. You are now signed out."));
        location.reload();
      }
    });
  }
})();
