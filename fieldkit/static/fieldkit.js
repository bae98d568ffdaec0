/* fieldkit participant pages: enhancements only; everything works without this file.
   - Quick exit: the Exit link, or Shift pressed three times, hides the page at once
     and replaces this history entry with the laptop's neutral page.
   - One history entry: survey forms are sent with fetch and the answer is written
     in place, so Back in the browser does not walk through the survey. */
(function () {
  "use strict";
  var exit = document.querySelector("[data-exit]");

  function leave() {
    document.documentElement.className += " fk-leaving";
    try { window.sessionStorage.clear(); } catch (e) { /* storage may be disabled */ }
    window.location.replace(exit.href);
  }

  if (exit) {
    exit.addEventListener("click", function (event) { event.preventDefault(); leave(); });
    var presses = [];
    document.addEventListener("keyup", function (event) {
      if (event.key !== "Shift") { return; }
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 5000; });
      presses.push(now);
      if (presses.length >= 3) { leave(); }
    });
  }

  var form = document.querySelector("form[data-survey]");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) { return; }
  var clicked = null;
  form.addEventListener("click", function (event) {
    if (event.target.type === "submit") { clicked = event.target; }
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter || clicked;
    var data = new FormData(form);
    if (button && button.name) { data.append(button.name, button.value); }
    var action = (button && button.getAttribute("formaction")) || form.action;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") { return; }  // a double tap sends once
    form.setAttribute("aria-busy", "true");
    window.fetch(action, { method: "POST", body: new URLSearchParams(data), credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) {
          window.history.replaceState(null, "", response.url);
          document.open();
          document.write(html);
          document.close();
        });
      })
      .catch(function () {
        form.removeAttribute("aria-busy");  // the answers stay on the page; pressing again retries
        var note = document.querySelector("[data-offline]");
        if (note) { note.hidden = false; note.scrollIntoView(); }
      });
  });
}());
