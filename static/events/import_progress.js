// The background import page: poll the run's status, move the progress bar, and reload the
// page when the run is finished so the server renders its result. No inline script (our CSP).
(function () {
  "use strict";
  var box = document.getElementById("import-run");
  if (!box || box.dataset.finished === "1") {
    return;
  }
  var bar = document.getElementById("import-progress");
  var percent = document.getElementById("import-percent");
  var status = document.getElementById("import-status");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (run) {
        bar.value = run.percent;
        percent.textContent = run.percent + " %";
        status.textContent = run.status_display;
        if (run.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000); // a restart or a network blip: keep trying, more slowly
      });
  }
  window.setTimeout(poll, 500);
})();
