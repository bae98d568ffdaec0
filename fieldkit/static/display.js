/* The event display (a projector): keeps the response count live without
   reloading the page, which would flash the screen and trouble screen readers. */
(function () {
  "use strict";
  var number = document.querySelector("[data-count-url]");
  if (!number || !window.fetch) { return; }
  function update() {
    window.fetch(number.getAttribute("data-count-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && number.textContent !== data.count) { number.textContent = data.count; } })
      .catch(function () { /* the next try will do */ });
  }
  window.setInterval(update, 10000);
}());
