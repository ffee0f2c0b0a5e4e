/* BZPEER research graph explorer (graph/templates/graph/explorer.html).
 *
 * Reads the graph the page embeds (#explorer-data), draws it with cytoscape.js (served
 * from node_modules as vendor/cytoscape), and keeps the server-rendered lists beside it in
 * step: a click on a node fetches its neighbours from
 * /graph/nodes/<id>/neighbours.json and adds them to both. Without JavaScript the page is
 * the lists of links alone.
 *
 * Large graphs stay smooth: elements are added in one cy.batch(), the layout above
 * LARGE_GRAPH nodes is a linear radial one (below) instead of the force-directed 'cose',
 * the viewport is drawn from a texture while panning or zooming, edges are straight
 * 'haystack' lines, and labels keep one on-screen size (11px) at every zoom.
 *
 * Labels never collide: placeLabels() keeps, in order of importance (selected, search
 * matches, the researcher, then the best connected), each label whose box overlaps none
 * already kept; the others show on hover or selection. The status line counts what is
 * visible: nodes not hidden by the type filter and the edges between them.
 */
(function () {
  "use strict";

  var LARGE_GRAPH = 300;
  var LABEL_CANDIDATES = 400; // above this, only the best connected nodes compete for a label
  var LABEL_PX = 11;
  var root = document.getElementById("explorer");
  var dataElement = document.getElementById("explorer-data");
  var typesElement = document.getElementById("explorer-node-types");
  if (!root || !dataElement || !typesElement || typeof window.cytoscape !== "function") {
    return; // the lists of links are the whole page
  }
  var data = JSON.parse(dataElement.textContent);
  /* The node types (name, list group, colour, shape, size) come from the server, which
   * builds the nodes: {type: {name, legend, group, color, shape, size}}. */
  var TYPES = {};
  JSON.parse(typesElement.textContent).forEach(function (look) {
    TYPES[look.type] = look;
  });
  var centerId = data.center;
  var neighboursUrl = root.dataset.neighboursUrl;
  var section = document.getElementById("explorer-graph");
  var controls = document.getElementById("explorer-controls");
  var search = document.getElementById("explorer-search");
  var statusLine = document.getElementById("explorer-status");
  var lists = document.getElementById("explorer-lists");
  var panel = {
    empty: document.getElementById("explorer-panel-empty"),
    body: document.getElementById("explorer-panel-body"),
    type: document.getElementById("explorer-panel-type"),
    label: document.getElementById("explorer-panel-label"),
    detail: document.getElementById("explorer-panel-detail"),
    open: document.getElementById("explorer-panel-open"),
    expand: document.getElementById("explorer-panel-expand"),
  };

  var hiddenTypes = new Set();
  var expanded = new Set();
  var loading = new Set();
  var selectedId = null;
  section.hidden = false;

  function nodeType(node) {
    if (node.id === centerId) return "researcher";
    if (node.type === "researcher") return "person";
    return TYPES[node.type] ? node.type : "person";
  }

  // The canvas follows the page's theme (static/css/site.css, prefers-color-scheme).
  var DARK = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var INK = DARK ? "#e6edf3" : "#1b1f24";
  var CANVAS = DARK ? "#11161c" : "#ffffff";

  function styles() {
    var sheet = [
      {
        selector: "node",
        style: {
          label: "",
          // The same size on screen at every zoom: zooming in leaves room for more labels.
          "font-size": function () {
            return LABEL_PX / (cy ? cy.zoom() : 1);
          },
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-wrap": "ellipsis",
          "text-max-width": 140,
          color: INK,
          "border-width": 1,
          "border-color": CANVAS,
        },
      },
      {
        selector: "edge",
        style: { width: 1, "line-color": "#b7c1cb", "curve-style": "haystack", "haystack-radius": 0 },
      },
      { selector: 'edge[type = "coauthor"]', style: { width: 2, "line-color": "#7a8ea3" } },
      { selector: ".expanded", style: { "border-width": 3, "border-color": INK } },
      { selector: ".match", style: { "border-width": 4, "border-color": "#ffbf47", "z-index": 10 } },
      { selector: "node:selected", style: { "border-width": 5, "border-color": "#ffbf47", "font-weight": 700 } },
      { selector: "node.labelled, node.hovered, node:selected", style: { label: "data(label)" } },
      { selector: "node.hovered", style: { "z-index": 20, "text-background-color": CANVAS, "text-background-opacity": 0.9 } },
      { selector: ".faded", style: { opacity: 0.15 } },
      { selector: ".filtered", style: { display: "none" } },
    ];
    Object.keys(TYPES).forEach(function (type) {
      var look = TYPES[type];
      sheet.splice(2, 0, {
        selector: 'node[type = "' + type + '"]',
        style: { "background-color": look.color, shape: look.shape, width: look.size, height: look.size },
      });
    });
    sheet.splice(2, 0, {
      selector: 'node[type = "suggestion"]',
      style: { "border-width": 2, "border-style": "dashed", "border-color": "#4f5863" },
    });
    return sheet;
  }

  /* Elements for cy.add(): nodes not yet drawn, and edges whose two ends exist. */
  function toElements(nodes, edges, has) {
    var elements = [];
    var ids = new Set();
    nodes.forEach(function (node) {
      if (ids.has(node.id) || has(node.id)) return;
      ids.add(node.id);
      var type = nodeType(node);
      elements.push({
        group: "nodes",
        data: { id: node.id, label: node.label || "", type: type, url: node.url || "", detail: node.detail || "" },
        classes: hiddenTypes.has(type) ? "filtered" : "",
      });
    });
    var edgeIds = new Set();
    edges.forEach(function (edge) {
      var id = edge.source + "|" + edge.target + "|" + edge.type;
      var ends = [edge.source, edge.target].every(function (end) {
        return ids.has(end) || has(end);
      });
      if (!ends || edgeIds.has(id) || has(id)) return;
      edgeIds.add(id);
      elements.push({ group: "edges", data: { id: id, source: edge.source, target: edge.target, type: edge.type } });
    });
    return elements;
  }

  var initial = toElements(data.nodes, data.edges, function () {
    return false;
  });
  var large = data.nodes.length > LARGE_GRAPH;
  var cy = window.cytoscape({
    container: document.getElementById("explorer-canvas"),
    elements: initial,
    style: styles(),
    layout: { name: "preset" },
    textureOnViewport: true,
    hideEdgesOnViewport: large,
    pixelRatio: large ? 1 : "auto",
    motionBlur: false,
    minZoom: 0.02,
    maxZoom: 4,
    boxSelectionEnabled: false,
    // Closer to desktop double-click intervals than the default 250 ms.
    multiClickDebounceTime: 400,
  });

  function has(id) {
    return cy.getElementById(id).nonempty();
  }

  /* Rings by distance from the researcher, for graphs above LARGE_GRAPH nodes.
   * 1. Breadth-first search from the researcher gives each node a depth and a parent;
   *    nodes it cannot reach go on one ring past the last.
   * 2. Each ring is ordered by its nodes' parents' angles, so children sit by their parent.
   * 3. A ring's radius grows with its size (a fixed arc per node), never shrinking inwards.
   * Linear in nodes and edges (plus a sort per ring): a few milliseconds at 2,000 nodes,
   * where cytoscape's force-directed layouts take seconds. */
  function radialPositions() {
    var ids = cy.nodes().map(function (node) {
      return node.id();
    });
    var adjacent = {};
    ids.forEach(function (id) {
      adjacent[id] = [];
    });
    cy.edges().forEach(function (edge) {
      var source = edge.data("source");
      var target = edge.data("target");
      adjacent[source].push(target);
      adjacent[target].push(source);
    });
    var start = adjacent[centerId] ? centerId : ids[0];
    var depth = {};
    var parent = {};
    var queue = [start];
    depth[start] = 0;
    for (var head = 0; head < queue.length; head++) {
      var id = queue[head];
      adjacent[id].forEach(function (next) {
        if (depth[next] === undefined) {
          depth[next] = depth[id] + 1;
          parent[next] = id;
          queue.push(next);
        }
      });
    }
    var outer = queue.length ? depth[queue[queue.length - 1]] : 0;
    var rings = [];
    ids.forEach(function (id) {
      var d = depth[id] === undefined ? outer + 1 : depth[id];
      (rings[d] = rings[d] || []).push(id);
    });
    var angle = {};
    var positions = {};
    angle[start] = 0;
    positions[start] = { x: 0, y: 0 };
    var radius = 0;
    for (var d = 1; d < rings.length; d++) {
      var ring = rings[d] || [];
      ring.sort(function (a, b) {
        return (angle[parent[a]] || 0) - (angle[parent[b]] || 0);
      });
      radius = Math.max(radius + 120, (ring.length * 26) / (2 * Math.PI));
      ring.forEach(function (id, index) {
        var theta = (2 * Math.PI * index) / ring.length;
        angle[id] = theta;
        positions[id] = { x: radius * Math.cos(theta), y: radius * Math.sin(theta) };
      });
    }
    return positions;
  }

  /* Lays the graph out, then marks the explorer ready (data-ready on #explorer): some
   * layouts finish after run() returns. */
  function layoutAll() {
    var layout;
    if (cy.nodes().length > LARGE_GRAPH) {
      var positions = radialPositions();
      layout = cy.layout({
        name: "preset",
        positions: function (node) {
          return positions[node.id()];
        },
        fit: true,
        padding: 20,
        animate: false,
      });
    } else {
      layout = cy.layout({ name: "cose", animate: false, randomize: true, fit: true, padding: 30, numIter: 1500 });
    }
    layout.one("layoutstop", function () {
      placeLabels();
      root.dataset.ready = "true";
      say(summary());
    });
    layout.run();
  }

  function counted(count, noun) {
    return count + " " + noun + (count === 1 ? "" : "s");
  }

  function visibleEdges() {
    return cy.edges().filter(function (edge) {
      return !edge.source().hasClass("filtered") && !edge.target().hasClass("filtered");
    });
  }

  function summary() {
    var shown = cy.nodes().not(".filtered").length;
    var hidden = cy.nodes().length - shown;
    var text = counted(shown, "node") + " and " + counted(visibleEdges().length, "edge") + " in the graph";
    return hidden ? text + " (" + hidden + " hidden by the type filter)." : text + ".";
  }

  /* --- labels without collisions ------------------------------------------------------- */

  function overlaps(a, b) {
    return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
  }

  function labelBox(node) {
    // Model coordinates: the labels scale with the nodes, so boxes that do not overlap
    // here do not overlap at any zoom.
    return node.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true });
  }

  function placeLabels() {
    var visible = cy.nodes().not(".filtered");
    var rank = function (node) {
      if (node.selected()) return 0;
      if (node.hasClass("match")) return 1;
      if (node.id() === centerId) return 2;
      return 3;
    };
    var candidates = visible.toArray().sort(function (a, b) {
      return rank(a) - rank(b) || b.degree() - a.degree();
    }).slice(0, LABEL_CANDIDATES);
    var kept = [];
    var boxes = [];
    cy.batch(function () {
      cy.nodes().removeClass("labelled");
      candidates.forEach(function (node) {
        node.addClass("labelled");
      });
    });
    candidates.forEach(function (node) {
      var box = labelBox(node);
      if (!box.w || !box.h) return;
      if (rank(node) > 0 && boxes.some(function (other) { return overlaps(box, other); })) return;
      boxes.push(box);
      kept.push(node);
    });
    cy.batch(function () {
      cy.nodes().removeClass("labelled");
      kept.forEach(function (node) {
        node.addClass("labelled");
      });
    });
    root.dataset.labelZoom = cy.zoom().toFixed(4);
  }

  // After a zoom, the labels get their on-screen size back and are chosen again.
  var zoomTimer = null;
  cy.on("zoom", function () {
    window.clearTimeout(zoomTimer);
    zoomTimer = window.setTimeout(function () {
      cy.style().update();
      placeLabels();
    }, 120);
  });

  cy.on("mouseover", "node", function (event) {
    event.target.addClass("hovered");
  });
  cy.on("mouseout", "node", function (event) {
    event.target.removeClass("hovered");
  });

  function say(text) {
    statusLine.textContent = text;
  }

  /* --- the lists beside the graph ------------------------------------------------------ */

  function listItem(node) {
    var item = document.createElement("li");
    item.dataset.nodeId = node.id;
    item.dataset.type = nodeType(node);
    var link = document.createElement("a");
    link.href = node.url || "#";
    link.textContent = node.label || "";
    item.appendChild(link);
    if (node.detail) {
      var detail = document.createElement("span");
      detail.className = "muted";
      detail.textContent = " · " + node.detail;
      item.appendChild(document.createTextNode(" "));
      item.appendChild(detail);
    }
    item.hidden = hiddenTypes.has(item.dataset.type);
    return item;
  }

  function expandButton(item) {
    if (item.querySelector("button")) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    // The visible words start the accessible name; the name says whose neighbours.
    button.textContent = "Show neighbours";
    var whose = document.createElement("span");
    whose.className = "visually-hidden";
    whose.textContent = " of " + item.querySelector("a").textContent;
    button.appendChild(whose);
    item.appendChild(button);
  }

  function addToLists(nodes) {
    var touched = new Set();
    nodes.forEach(function (node) {
      var type = nodeType(node);
      var group = TYPES[type] && TYPES[type].group;
      var section = group && lists.querySelector('[data-group="' + group + '"]');
      if (!section || lists.querySelector('li[data-node-id="' + CSS.escape(node.id) + '"]')) return;
      var item = listItem(node);
      expandButton(item);
      section.querySelector("ul").appendChild(item);
      touched.add(section);
    });
    touched.forEach(function (section) {
      section.querySelector(".explorer-count").textContent = section.querySelectorAll("li").length;
      var empty = section.querySelector(".explorer-empty");
      if (empty) empty.remove();
    });
  }

  lists.querySelectorAll("li[data-node-id]").forEach(expandButton);
  lists.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    var item = button && button.closest("li[data-node-id]");
    if (!item) return;
    select(item.dataset.nodeId);
    expand(item.dataset.nodeId);
  });

  /* --- selecting and expanding ----------------------------------------------------------- */

  function select(id) {
    var node = cy.getElementById(id);
    if (node.empty()) return;
    cy.nodes(":selected").unselect();
    node.select();
    selectedId = id;
    panel.empty.hidden = true;
    panel.body.hidden = false;
    panel.type.textContent = (TYPES[node.data("type")] || {}).name || node.data("type");
    panel.label.textContent = node.data("label");
    panel.detail.textContent = node.data("detail");
    panel.open.href = node.data("url") || "#";
    panel.expand.disabled = expanded.has(id);
    panel.expand.textContent = expanded.has(id) ? "Neighbours shown" : "Show neighbours";
    placeLabels();
  }

  function placeAround(anchor, added) {
    var origin = anchor.nonempty() ? anchor.position() : { x: 0, y: 0 };
    var count = added.length;
    var radius = 80 + 4 * count;
    added.forEach(function (node, index) {
      var angle = (2 * Math.PI * index) / Math.max(1, count);
      node.position({ x: origin.x + radius * Math.cos(angle), y: origin.y + radius * Math.sin(angle) });
    });
  }

  function expand(id) {
    var anchor = cy.getElementById(id);
    var label = anchor.nonempty() ? anchor.data("label") : id;
    if (expanded.has(id) || loading.has(id)) return Promise.resolve(0);
    loading.add(id);
    say("Loading the neighbours of " + label + "…");
    var url = neighboursUrl.replace("NODE_ID", encodeURIComponent(id));
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (payload) {
        var fresh = payload.nodes.filter(function (node) {
          return !has(node.id);
        });
        var added;
        cy.batch(function () {
          added = cy.add(toElements(payload.nodes, payload.edges, has));
          placeAround(anchor, added.nodes());
          anchor.addClass("expanded");
        });
        expanded.add(id);
        addToLists(fresh);
        if (search.value.trim()) highlight();
        if (added.nodes().length) cy.fit(anchor.closedNeighborhood().not(".filtered"), 40);
        if (selectedId === id) select(id);
        else placeLabels();
        say(
          "Added " + counted(added.nodes().length, "node") + " around " + label +
            (payload.truncated ? " (the strongest ones; there are more)" : "") + ". " + summary()
        );
        return added.nodes().length;
      })
      .catch(function () {
        say("Could not load the neighbours of " + label + ". Try again.");
        return 0;
      })
      .finally(function () {
        loading.delete(id);
      });
  }

  /* A click selects at once; the expansion waits for cytoscape's "onetap" (no second click
   * within multiClickDebounceTime), so that a double-click (open the page) neither fetches
   * neighbours nor moves the view under the second click. */
  cy.on("tap", "node", function (event) {
    select(event.target.id());
  });
  cy.on("onetap", "node", function (event) {
    expand(event.target.id());
  });
  cy.on("dbltap", "node", function (event) {
    var url = event.target.data("url");
    if (url) window.location.assign(url);
  });
  panel.expand.addEventListener("click", function () {
    if (selectedId) expand(selectedId);
  });

  /* --- filter by type, search ----------------------------------------------------------- */

  function applyFilter() {
    cy.batch(function () {
      cy.nodes().forEach(function (node) {
        node.toggleClass("filtered", hiddenTypes.has(node.data("type")));
      });
    });
    lists.querySelectorAll("li[data-type]").forEach(function (item) {
      item.hidden = hiddenTypes.has(item.dataset.type);
    });
    placeLabels();
    say(summary());
  }

  controls.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name !== "type") return;
    if (box.checked) hiddenTypes.delete(box.value);
    else hiddenTypes.add(box.value);
    applyFilter();
  });

  function highlight() {
    var query = search.value.trim().toLowerCase();
    var matches = cy.collection();
    cy.batch(function () {
      cy.elements().removeClass("match faded");
      if (!query) return;
      matches = cy.nodes().filter(function (node) {
        return node.data("label").toLowerCase().indexOf(query) !== -1;
      });
      cy.elements().not(matches).addClass("faded");
      matches.addClass("match");
    });
    lists.querySelectorAll("li[data-node-id]").forEach(function (item) {
      item.classList.toggle("explorer-match", Boolean(query) && matches.getElementById(item.dataset.nodeId).nonempty());
    });
    placeLabels();
    say(query ? counted(matches.length, "node") + (matches.length === 1 ? " matches" : " match") + " “" + search.value.trim() + "”." : summary());
    return matches;
  }

  var searchTimer = null;
  search.addEventListener("input", function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(highlight, 150);
  });
  controls.addEventListener("submit", function (event) {
    event.preventDefault();
    var matches = highlight().not(".filtered");
    if (matches.nonempty()) {
      select(matches[0].id());
      cy.animate({ center: { eles: matches[0] }, zoom: Math.max(cy.zoom(), 1) }, { duration: 200 });
    }
  });
  document.getElementById("explorer-fit").addEventListener("click", function () {
    cy.fit(cy.nodes().not(".filtered"), 30);
  });

  layoutAll();
  window.bzpeerExplorer = {
    cy: cy,
    expand: expand,
    select: select,
    relayout: layoutAll,
    visibleEdges: visibleEdges,
  };
})();
