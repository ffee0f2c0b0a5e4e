/* Keeps keyboard focus where the reader is when HTMX replaces the part of the page they
 * were using (sorting or paging the works, following): without this, focus falls back to
 * <body> and the next Tab starts from the top of the page.
 *
 * A swapped container opts in with data-focus-on-swap="<selector inside it>", the element
 * that takes focus once the new content has settled (made focusable with tabindex="-1"
 * when it is not already). No inline script: the page's Content-Security-Policy may
 * forbid them.
 */
(function () {
  "use strict";

  var pending = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var trigger = event.detail.elt;
    var container = trigger && trigger.closest && trigger.closest("[data-focus-on-swap][id]");
    // Other requests (a polling graph slice) leave a pending move alone.
    if (container) pending = { id: container.id, selector: container.dataset.focusOnSwap };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    // Only the settling of the swapped container itself moves focus.
    var settled = event.target;
    if (!pending || !settled || settled.id !== pending.id) return;
    var container = document.getElementById(pending.id);
    var target = container && container.querySelector(pending.selector);
    pending = null;
    if (!target) return;
    if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  });
})();
