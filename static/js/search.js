// The site search field's suggestions (loaded by htmx under the field as you type):
// arrow keys move through them, Enter opens the chosen one, Escape closes the list;
// a live region says how many there are. Without JavaScript the form submits as usual.
(function () {
  "use strict";

  function parts(input) {
    var form = input.closest("[data-search-form]");
    return {
      form: form,
      box: form.querySelector("[data-search-suggestions]"),
      status: form.querySelector("[data-search-status]"),
    };
  }

  function options(box) {
    return Array.prototype.slice.call(box.querySelectorAll('[role="option"]'));
  }

  function close(input) {
    var p = parts(input);
    p.box.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function activate(input, index) {
    var list = options(parts(input).box);
    if (!list.length) return;
    index = (index + list.length) % list.length;
    list.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", list[index].id);
    list[index].scrollIntoView({ block: "nearest" });
  }

  function activeIndex(input) {
    var id = input.getAttribute("aria-activedescendant");
    return options(parts(input).box).findIndex(function (o) { return o.id === id; });
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-search-input]")) return;
    var list = options(parts(input).box);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!list.length) return;
      event.preventDefault();
      var current = activeIndex(input);
      activate(input, event.key === "ArrowDown" ? current + 1 : (current < 0 ? -1 : current - 1));
    } else if (event.key === "Enter") {
      var index = activeIndex(input);
      if (index >= 0 && list[index] && list[index].dataset.href) {
        event.preventDefault();
        window.location.assign(list[index].dataset.href);
      }
    } else if (event.key === "Escape" && list.length) {
      // The first Escape closes the list (and keeps the words); the next one clears them.
      event.preventDefault();
      close(input);
    }
  });

  // A new list arrived: nothing is chosen yet; announce how many suggestions there are.
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-search-suggestions]")) return;
    var form = box.closest("[data-search-form]");
    var input = form.querySelector("[data-search-input]");
    var list = box.querySelector('[role="listbox"]');
    var count = list ? parseInt(list.getAttribute("data-count") || "0", 10) : 0;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", list ? "true" : "false");
    parts(input).status.textContent = list
      ? (count ? count + (count === 1 ? " suggestion" : " suggestions") + "; use the arrow keys to choose." : "No suggestions; press Enter to search.")
      : "";
  });

  // A click on an option opens it; a click outside the form closes its list.
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('[data-search-suggestions] [role="option"][data-href]');
    if (option) {
      window.location.assign(option.dataset.href);
      return;
    }
    document.querySelectorAll("[data-search-input]").forEach(function (input) {
      if (!parts(input).form.contains(event.target)) close(input);
    });
  });
})();
