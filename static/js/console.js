/* Helpdesk console behaviour. No inline scripts (CSP): this file is included by console/layout.html. */
(function () {
  "use strict";

  // "Choose every ticket" in the queue table.
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      var name = box.dataset.checkAll;
      box.closest("form").querySelectorAll("input[type=checkbox][name=" + name + "]").forEach(function (item) {
        item.checked = box.checked;
      });
    });
  });

  // The canned-reply picker inserts as soon as one is chosen, through the reply form's own
  // "insert" button: the draft and the internal-note toggle go with it and come back.
  document.querySelectorAll(".canned-pick select").forEach(function (select) {
    var insert = select.form.querySelector("[data-insert]");
    select.addEventListener("change", function () {
      if (select.value && insert) { select.form.requestSubmit(insert); }
    });
  });

  // Who else is on this ticket: a heartbeat every 15 s says whether this agent is typing a reply;
  // the server answers with the others, already in the agent's language.
  var viewers = document.querySelector("[data-heartbeat]");
  if (viewers) {
    var form = document.querySelector("form[data-replying]");
    var token = form ? form.querySelector("[name=csrfmiddlewaretoken]").value : "";
    var beat = function () {
      var body = form ? form.querySelector("textarea").value.trim() : "";
      var data = new URLSearchParams({ replying: body ? "1" : "0" });
      fetch(viewers.dataset.heartbeat, {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "X-CSRFToken": token }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (!answer) { return; }
        viewers.textContent = "";
        answer.viewers.forEach(function (line) {
          var span = document.createElement("span");
          span.textContent = line + " ";
          viewers.appendChild(span);
        });
        viewers.classList.toggle("empty", answer.viewers.length === 0);
      }).catch(function () {});
    };
    setInterval(beat, 15000);
  }
})();
