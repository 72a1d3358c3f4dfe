/**
 * The one inline script of report.html: it re-draws each space-time diagram (with the renderer
 * whose source space-time-render.ts gives) for the window's width, and on the reader's request —
 * time-true or logical view, zoom (buttons, the wheel over the time column or with Ctrl, dragging
 * across a span, +/− keys), paging through the run. It reads only the JSON embedded next to each
 * diagram and asks nothing of the network. Without scripts the pre-drawn diagram stays as it is.
 */
import { spaceTimeRendererSource } from './space-time-render.js';

const CONTROLLER = String.raw`
document.documentElement.classList.remove('no-js');
var R = RENDERER();
function setup(root) {
  var data = JSON.parse(root.querySelector('.st-data').textContent);
  var view = root.querySelector('.st-view');
  var head = root.querySelector('.st-head');
  var where = root.querySelector('.st-where');
  var sel = root.querySelector('.st-select');
  var defaults = { time: R.defaultZoom(data, 'time'), logical: R.defaultZoom(data, 'logical') };
  var state = { mode: 'time', zoom: defaults.time, width: 0 };
  var current = null;
  // zoomed out: the whole run in a few px; zoomed in: at most ~1.5 million px tall, which browsers still scroll
  var limits = {
    time: [1e-5, Math.max(defaults.time, R.zoomFor(data, 'time', 1.5e6))],
    logical: [0.2, Math.max(defaults.logical, R.zoomFor(data, 'logical', 1.5e6))]
  };
  function clampZoom(z) { var l = limits[state.mode]; return Math.min(l[1], Math.max(l[0], z)); }
  function draw(anchor) {
    state.width = Math.max(320, view.clientWidth);
    current = R.render(data, state);
    view.innerHTML = current.svg;
    head.innerHTML = current.header;
    if (anchor) view.scrollTop = Math.max(0, current.scale.y(anchor.t) - anchor.offset);
    update();
  }
  function anchorAt(offset) { return { t: current.scale.t(view.scrollTop + offset), offset: offset }; }
  function update() {
    var h = Math.max(1, view.clientHeight);
    var pages = Math.max(1, Math.ceil((current.height - 1) / h));
    var page = Math.min(pages, Math.round(view.scrollTop / h) + 1);
    var bottom = Math.min(view.scrollTop + h, current.height);
    where.textContent = 'page ' + page + ' / ' + pages + ' · ' + R.formatMs(current.scale.t(view.scrollTop)) + ' … ' + R.formatMs(current.scale.t(bottom));
  }
  function zoomBy(f, offset) { var a = anchorAt(offset); state.zoom = clampZoom(state.zoom * f); draw(a); }
  function zoomTo(t0, t1) {
    if (!(t1 > t0)) return;
    state.zoom = clampZoom(R.zoomFor(data, state.mode, view.clientHeight - 16, t0, t1));
    draw({ t: t0, offset: 8 });
  }
  var actions = {
    'in': function () { zoomBy(1.6, view.clientHeight / 2); },
    'out': function () { zoomBy(1 / 1.6, view.clientHeight / 2); },
    'fit': function () {
      // the labels of the last steps may need room below the run: shrink until the drawing fits
      var target = view.clientHeight - 4;
      for (var i = 0; i < 4; i++) {
        state.zoom = clampZoom(R.zoomFor(data, state.mode, target));
        draw({ t: data.start, offset: 0 });
        var over = current.height - (view.clientHeight - 2);
        if (over <= 0) break;
        target -= over;
      }
    },
    'reset': function () { var a = anchorAt(0); state.zoom = defaults[state.mode]; draw(a); },
    'prev': function () { view.scrollTop = Math.max(0, view.scrollTop - (view.clientHeight - 24)); },
    'next': function () { view.scrollTop = view.scrollTop + (view.clientHeight - 24); }
  };
  root.querySelectorAll('button[data-act]').forEach(function (b) {
    b.addEventListener('click', function () { actions[b.getAttribute('data-act')](); });
  });
  root.querySelectorAll('input.st-mode').forEach(function (r) {
    r.addEventListener('change', function () {
      if (!r.checked) return;
      var a = anchorAt(0);
      state.mode = r.value;
      state.zoom = defaults[state.mode];
      draw(a);
    });
  });
  var pending = false;
  view.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; update(); });
  });
  view.addEventListener('wheel', function (e) {
    var box = view.getBoundingClientRect();
    var inTimeColumn = e.clientX - box.left < 70;
    if (!(e.ctrlKey || e.metaKey || inTimeColumn)) return;
    e.preventDefault();
    zoomBy(e.deltaY < 0 ? 1.25 : 0.8, e.clientY - box.top);
  }, { passive: false });
  var drag = null;
  view.addEventListener('pointerdown', function (e) {
    var box = view.getBoundingClientRect();
    // not on the scrollbar
    if (e.button !== 0 || e.clientX - box.left > view.clientWidth) return;
    drag = { y0: view.scrollTop + e.clientY - box.top, y1: null, id: e.pointerId };
  });
  view.addEventListener('pointermove', function (e) {
    if (!drag) return;
    var box = view.getBoundingClientRect();
    var y = view.scrollTop + e.clientY - box.top;
    if (drag.y1 === null && Math.abs(y - drag.y0) < 6) return;
    if (drag.y1 === null) view.setPointerCapture(drag.id);
    drag.y1 = y;
    var top = Math.min(drag.y0, y), h = Math.abs(y - drag.y0);
    sel.style.display = 'block';
    sel.style.top = (top - view.scrollTop + view.offsetTop) + 'px';
    sel.style.height = h + 'px';
    sel.style.left = view.offsetLeft + 'px';
    sel.style.width = view.clientWidth + 'px';
    sel.textContent = R.formatMs(current.scale.t(top)) + ' … ' + R.formatMs(current.scale.t(top + h));
  });
  function endDrag() {
    if (!drag) return;
    var d = drag;
    drag = null;
    sel.style.display = 'none';
    if (d.y1 === null) return;
    zoomTo(current.scale.t(Math.min(d.y0, d.y1)), current.scale.t(Math.max(d.y0, d.y1)));
  }
  view.addEventListener('pointerup', endDrag);
  view.addEventListener('pointercancel', function () { drag = null; sel.style.display = 'none'; });
  view.addEventListener('dblclick', function () { actions.reset(); });
  view.addEventListener('keydown', function (e) {
    if (e.key === '+' || e.key === '=') { actions['in'](); e.preventDefault(); }
    else if (e.key === '-') { actions.out(); e.preventDefault(); }
  });
  var lastWidth = view.clientWidth;
  new ResizeObserver(function () {
    if (view.clientWidth === lastWidth || !current) return;
    lastWidth = view.clientWidth;
    draw(anchorAt(0));
  }).observe(view);
  draw(null);
}
document.querySelectorAll('.st').forEach(setup);
`;

/** The inline script: the renderer's source and the controller, wrapped so nothing leaks into the page's globals. */
export function spaceTimeViewerScript(): string {
  return `(function () {\n'use strict';\nvar RENDERER = ${spaceTimeRendererSource};\n${CONTROLLER}\n})();`;
}
