/* Client-side search across the book's sections: the index is embedded in the page, so it works offline. */
(function () {
  var input = document.getElementById("ipsr-search-input");
  var list = document.getElementById("ipsr-search-results");
  var status = document.getElementById("ipsr-search-status");
  var data = document.getElementById("ipsr-search-index");
  if (!input || !list || !data) { return; }
  // Searching happens as one types; the form is never submitted (no inline handler, so pages hold none).
  if (input.form) { input.form.addEventListener("submit", function (event) { event.preventDefault(); }); }
  var index = JSON.parse(data.textContent);
  function snippet(text, term) {
    var at = text.toLowerCase().indexOf(term);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "\u2026" : "") + text.slice(start, start + 180) + (start + 180 < text.length ? "\u2026" : "");
  }
  function search() {
    var query = input.value.toLowerCase().trim();
    list.textContent = "";
    if (query.length < 2) { status.textContent = ""; return; }
    var terms = query.split(/\s+/);
    var hits = index.filter(function (entry) {
      var hay = (entry.t + " " + entry.x).toLowerCase();
      return terms.every(function (term) { return hay.indexOf(term) >= 0; });
    });
    status.textContent = hits.length === 1 ? "1 section found" : hits.length + " sections found";
    hits.slice(0, 30).forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.p + (entry.a ? "#" + entry.a : "");
      link.textContent = entry.t;
      var where = document.createElement("span");
      where.className = "ipsr-search-page";
      where.textContent = entry.c;
      var text = document.createElement("p");
      text.textContent = snippet(entry.x, terms[0]);
      item.appendChild(link);
      item.appendChild(where);
      item.appendChild(text);
      list.appendChild(item);
    });
  }
  input.addEventListener("input", search);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; search(); }
  });
})();
