// Result page. Loaded as a file (the Content-Security-Policy forbids inline scripts).
"use strict";

// The page is the answer to a POST. Replacing its history entry with a plain GET of the same
// address means Back, Forward or Reload never ask to resend the form: they reach GET /analyse,
// which says that results are not kept (nothing is stored, so there is nothing to show again).
window.history.replaceState(null, "", window.location.href);

document.addEventListener("DOMContentLoaded", () => {
  const printButton = document.getElementById("print-result");
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
});
