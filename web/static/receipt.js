// The printable receipt (receipt.html): its print button.
"use strict";
(() => {
  const b = document.getElementById("rc-print");
  if (b) b.addEventListener("click", () => window.print());
})();
