// Orders page enhancements; every form works without this script.
// - the level and the OCO leg show only for limit and stop orders;
// - the account switcher follows the selection without pressing "Show".
(function () {
  "use strict";
  function syncTicket(select) {
    var working = select.value !== "MARKET";
    var form = select.form;
    form.querySelectorAll("[data-working-only]").forEach(function (el) {
      // Keep a field that carries an error visible, whatever the type says.
      el.hidden = !working && !el.querySelector(".has-error");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-ticket-type]").forEach(function (select) {
      syncTicket(select);
      select.addEventListener("change", function () { syncTicket(select); });
    });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  });
})();
