// Markets pages: live quotes over SSE, the interactive chart (TradingView lightweight-charts), the
// indicator picker and the upload size check. Every page works without this file; it only enhances.
(function () {
  "use strict";

  var COLORS = ["#2f5fd0", "#e07a10", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d", "#d4ac0d", "#2c3e50"];

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function dark() {
    var theme = document.documentElement.getAttribute("data-theme");
    if (theme) return theme === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  function say(element, text) { if (element && element.textContent !== text) element.textContent = text; }

  // --- live quotes -------------------------------------------------------------------------------
  function liveQuotes() {
    var keys = {};
    $all("[data-quote]").forEach(function (cell) { keys[cell.getAttribute("data-quote")] = true; });
    var symbols = Object.keys(keys);
    if (!symbols.length || !window.EventSource) return;
    var status = $all("[data-live-status]");
    var source = new EventSource("/events/markets/quotes?symbols=" + encodeURIComponent(symbols.join(",")));
    source.addEventListener("open", function () {
      status.forEach(function (s) { say(s, "Live prices: connected."); });
    });
    source.addEventListener("error", function () {
      status.forEach(function (s) { say(s, "Live prices: reconnecting…"); });
    });
    source.addEventListener("quote", function (message) {
      var quote = JSON.parse(message.data);
      ["bid", "ask"].forEach(function (side) {
        $all('[data-quote="' + quote.instrument + '"][data-side="' + side + '"]').forEach(function (cell) {
          var before = Number(cell.textContent);
          var after = Number(quote[side]);
          cell.textContent = quote[side];
          if (!isNaN(before) && before !== after) {
            cell.classList.remove("tick-up", "tick-down");
            void cell.offsetWidth; // restart the highlight
            cell.classList.add(after > before ? "tick-up" : "tick-down");
          }
        });
      });
    });
  }

  // --- indicator choices ---------------------------------------------------------------------------
  function parseSpecs(text) {
    return (text || "").split(",").filter(Boolean).map(function (item) {
      var parts = item.split(":");
      var params = {};
      parts.slice(1).forEach(function (pair) {
        var kv = pair.split("=");
        params[kv[0]] = kv[1];
      });
      return { name: parts[0], params: params };
    });
  }
  function formatSpecs(specs) {
    return specs.map(function (s) {
      return [s.name].concat(Object.keys(s.params).map(function (k) { return k + "=" + s.params[k]; })).join(":");
    }).join(",");
  }

  // --- the interactive chart ----------------------------------------------------------------------
  function InstrumentChart(container) {
    this.el = container;
    this.charts = window.LightweightCharts;
    this.catalogue = {};
    var data = $("#indicator-catalogue");
    if (data) JSON.parse(data.textContent).forEach(function (info) { this.catalogue[info.name] = info; }, this);
    this.state = {
      timeframe: container.getAttribute("data-timeframe"),
      specs: parseSpecs(container.getAttribute("data-indicators")),
      bars: Number(container.getAttribute("data-bars")) || 300,
    };
    this.status = $("[data-chart-status]");
    this.indicatorSeries = [];
    this.generation = 0;
  }

  InstrumentChart.prototype.palette = function () {
    return dark()
      ? { background: "#171c27", text: "#e6e9f0", grid: "#2a3242", up: "#4ade80", down: "#f87171" }
      : { background: "#ffffff", text: "#1b2130", grid: "#eef1f7", up: "#127a3d", down: "#b42318" };
  };

  InstrumentChart.prototype.start = function () {
    var lib = this.charts;
    var fallback = $(".chart-fallback", this.el);
    if (fallback) fallback.remove();
    this.chart = lib.createChart(this.el, {
      autoSize: true,
      // The logo injects a <style> element, which the page's CSP refuses; the caption credits TradingView.
      layout: { attributionLogo: false, panes: { separatorColor: "#8884" } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderVisible: false },
    });
    this.candles = this.chart.addSeries(lib.CandlestickSeries, {});
    this.volume = this.chart.addSeries(lib.HistogramSeries, {
      priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.applyTheme();
    new MutationObserver(this.applyTheme.bind(this))
      .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    this.wireControls();
    this.load();
    this.follow();
    this.refreshPng();
  };

  InstrumentChart.prototype.applyTheme = function () {
    var p = this.palette();
    this.chart.applyOptions({
      layout: { background: { type: "solid", color: p.background }, textColor: p.text },
      grid: { vertLines: { color: p.grid }, horzLines: { color: p.grid } },
    });
    this.candles.applyOptions({
      upColor: p.up, downColor: p.down, borderUpColor: p.up, borderDownColor: p.down,
      wickUpColor: p.up, wickDownColor: p.down,
    });
    this.volume.applyOptions({ color: dark() ? "#6b97ff44" : "#2f5fd033" });
    this.refreshPng();
  };

  InstrumentChart.prototype.query = function () {
    return "timeframe=" + encodeURIComponent(this.state.timeframe) +
      "&indicators=" + encodeURIComponent(formatSpecs(this.state.specs));
  };

  InstrumentChart.prototype.load = function () {
    var self = this;
    var generation = ++this.generation;
    say(this.status, "Loading " + this.state.timeframe + " bars…");
    fetch(this.el.getAttribute("data-candles-url") + "?" + this.query() + "&bars=" + this.state.bars, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.error ? body.error.message : response.statusText);
        return body;
      });
    }).then(function (body) {
      if (generation !== self.generation) return; // a newer choice is on its way
      self.draw(body);
      say(self.status, body.time.length
        ? "Bid prices, " + body.timeframe + " bars; the last bar updates live."
        : "No " + body.timeframe + " bars are stored for this instrument yet.");
    }).catch(function (error) {
      if (generation === self.generation) say(self.status, "The chart could not be loaded: " + error.message);
    });
  };

  InstrumentChart.prototype.draw = function (body) {
    var lib = this.charts;
    var bars = body.time.map(function (t, i) {
      return { time: t, open: Number(body.open[i]), high: Number(body.high[i]), low: Number(body.low[i]),
        close: Number(body.close[i]) };
    });
    var up = this.palette().up, down = this.palette().down;
    this.candles.setData(bars);
    this.volume.setData(body.time.map(function (t, i) {
      return { time: t, value: Number(body.volume[i]), color: bars[i].close >= bars[i].open ? up + "55" : down + "55" };
    }));
    this.indicatorSeries.forEach(function (series) { this.chart.removeSeries(series); }, this);
    this.indicatorSeries = [];
    body.indicators.forEach(function (line, n) {
      var histogram = /hist/i.test(line.output);
      var series = this.chart.addSeries(histogram ? lib.HistogramSeries : lib.LineSeries, {
        color: COLORS[n % COLORS.length], lineWidth: 2, title: line.label + (line.output === "real" ? "" : " " + line.output),
        priceLineVisible: false, lastValueVisible: false,
      }, line.pane);
      series.setData(line.values.map(function (v, i) {
        return v === null ? { time: body.time[i] } : { time: body.time[i], value: v };
      }));
      this.indicatorSeries.push(series);
    }, this);
    var panes = this.chart.panes();
    panes.forEach(function (pane, i) { pane.setStretchFactor(i === 0 ? 3 : 1); });
    this.chart.timeScale().fitContent();
  };

  // Closed bars arrive over SSE; the indicators are recomputed on the server with the new bar.
  InstrumentChart.prototype.follow = function () {
    if (!window.EventSource) return;
    if (this.events) this.events.close();
    var self = this;
    this.events = new EventSource(this.el.getAttribute("data-events-base") + "&timeframe=" +
      encodeURIComponent(this.state.timeframe));
    this.events.addEventListener("candle", function (message) {
      var bar = JSON.parse(message.data);
      self.candles.update({ time: bar.time, open: Number(bar.open), high: Number(bar.high),
        low: Number(bar.low), close: Number(bar.close) });
      self.volume.update({ time: bar.time, value: Number(bar.volume) });
      if (self.state.specs.length) self.load();
      self.refreshPng();
    });
  };

  InstrumentChart.prototype.refreshPng = function () {
    var img = $("[data-chart-png-img]");
    if (!img || !this.chart) return;
    var status = $("[data-png-status]");
    var url = this.el.getAttribute("data-chart-png") + "?" + this.query() + "&theme=" + (dark() ? "dark" : "light");
    if (img.getAttribute("src") === url) return;
    say(status, "Drawing…");
    img.onload = function () { say(status, ""); };
    img.onerror = function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (text) {
        say(status, text || "The chart could not be drawn.");
      }).catch(function () { say(status, "The chart could not be drawn."); });
    };
    img.setAttribute("src", url);
    var link = $("[data-chart-png-link]");
    if (link) link.setAttribute("href", url);
  };

  InstrumentChart.prototype.changed = function () {
    var url = window.location.pathname + "?" + this.query();
    window.history.replaceState(null, "", url);
    $all('input[name="timeframe"]').forEach(function (i) { i.value = this.state.timeframe; }, this);
    $all('input[name="indicators"]').forEach(function (i) { i.value = formatSpecs(this.state.specs); }, this);
    $all('form input[name="next"]').forEach(function (i) { i.value = url; });
    this.renderChosen();
    this.load();
    this.refreshPng();
  };

  InstrumentChart.prototype.renderChosen = function () {
    var list = $("[data-chosen-indicators]");
    if (!list) return;
    list.textContent = "";
    if (!this.state.specs.length) {
      var none = document.createElement("li");
      none.className = "muted small";
      none.textContent = "No indicators.";
      list.appendChild(none);
    }
    this.state.specs.forEach(function (spec, index) {
      var item = document.createElement("li");
      item.className = "chip";
      var name = document.createElement("span");
      var params = Object.keys(spec.params).map(function (k) { return k + " " + spec.params[k]; }).join(", ");
      name.textContent = spec.name + (params ? " (" + params + ")" : "");
      var where = document.createElement("span");
      where.className = "muted small";
      var info = this.catalogue[spec.name];
      where.textContent = info && info.overlay ? "price" : "pane";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + spec.name);
      remove.addEventListener("click", function () {
        this.state.specs.splice(index, 1);
        this.changed();
      }.bind(this));
      item.append(name, " ", where, " ", remove);
      list.appendChild(item);
    }, this);
  };

  InstrumentChart.prototype.renderParams = function (name) {
    var box = $("[data-indicator-params]");
    var info = this.catalogue[name];
    if (!box) return;
    box.textContent = "";
    if (!info) return;
    info.params.forEach(function (param) {
      var id = "f-param-" + param.name;
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.setAttribute("for", id);
      label.textContent = param.name.replace(/_/g, " ");
      var input;
      if (param.type === "matype" && param.choices) {
        input = document.createElement("select");
        Object.keys(param.choices).forEach(function (value) {
          var option = document.createElement("option");
          option.value = value;
          option.textContent = param.choices[value];
          option.selected = Number(value) === Number(param["default"]);
          input.appendChild(option);
        });
      } else {
        input = document.createElement("input");
        input.type = "number";
        input.min = param.min;
        input.max = param.max;
        input.step = param.type === "int" ? "1" : "any";
        input.value = param["default"];
        input.required = true;
      }
      input.id = id;
      input.setAttribute("data-param", param.name);
      input.setAttribute("data-default", param["default"]);
      if (param.help) input.title = param.help;
      field.append(label, input);
      box.appendChild(field);
    });
  };

  InstrumentChart.prototype.wireControls = function () {
    var self = this;
    $all("[data-timeframe]", $(".timeframes")).forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        self.state.timeframe = link.getAttribute("data-timeframe");
        $all("[data-timeframe]", $(".timeframes")).forEach(function (other) {
          var current = other === link;
          other.classList.toggle("secondary", !current);
          if (current) other.setAttribute("aria-current", "true"); else other.removeAttribute("aria-current");
        });
        self.follow();
        self.changed();
      });
    });
    $all("[data-remove-indicator]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        self.state.specs.splice(Number(link.getAttribute("data-remove-indicator")), 1);
        self.changed();
      });
    });
    var select = $("[data-indicator-select]");
    var form = $("[data-indicator-form]");
    if (!select || !form) return;
    select.addEventListener("change", function () { self.renderParams(select.value); });
    this.renderParams(select.value);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.reportValidity()) return;
      var params = {};
      // Only parameters moved off their default travel: short links, and the chart renderer (which
      // knows fewer parameters than the catalogue, e.g. BBANDS without matype) draws the rest.
      $all("[data-param]", form).forEach(function (input) {
        if (Number(input.value) !== Number(input.getAttribute("data-default"))) {
          params[input.getAttribute("data-param")] = input.value;
        }
      });
      if (self.state.specs.length >= 8) {
        say(self.status, "At most 8 indicators at a time.");
        return;
      }
      self.state.specs.push({ name: select.value, params: params });
      self.changed();
    });
  };

  // --- upload -------------------------------------------------------------------------------------
  function uploadCheck() {
    var input = $("input[type=file][data-max-bytes]");
    if (!input) return;
    var max = Number(input.getAttribute("data-max-bytes"));
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var message = "";
      if (file && file.size > max) message = "The file is larger than " + Math.floor(max / 1048576) + " MB.";
      else if (file && file.size === 0) message = "The file is empty.";
      input.setCustomValidity(message);
      if (message) input.reportValidity();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveQuotes();
    uploadCheck();
    var container = $("#price-chart");
    if (container && window.LightweightCharts) new InstrumentChart(container).start();
  });
})();
