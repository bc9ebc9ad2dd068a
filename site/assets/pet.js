// The public pet page: draws the 30-day health chart and the recent analyses from the data the
// server embedded (the public API's shapes), then keeps the page live over the public WebSocket,
// falling back to polling the public API every 30 s when the socket is down.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 30000;
  const DAY_MS = 86400000;
  const CHART = { width: 600, height: 200, left: 34, right: 12, top: 12, bottom: 26 };
  const chartBox = document.getElementById("chart");

  const main = document.getElementById("main");
  const dataNode = document.getElementById("pet-data");
  if (!main || !dataNode) return;

  const page = {
    fullName: main.dataset.fullName,
    githubUrl: main.dataset.githubUrl || "https://github.com",
    wsUrl: main.dataset.wsUrl,
    apiUrl: main.dataset.apiUrl,
    highlight: (new URLSearchParams(location.search).get("sha") || "").toLowerCase(),
  };
  let data = normalise(JSON.parse(dataNode.textContent));

  /** Accept the public API's shape and a few spellings of it, so one renderer serves both. */
  function normalise(raw) {
    const body = raw || {};
    return {
      entity: body.entity || body.pet || {},
      history: body.health_history || body.history || [],
      analyses: body.analyses || body.recent_analyses || [],
      days: body.history_days || 30,
      ranges: body.state_ranges || [],
    };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function signed(n) {
    const value = Number(n) || 0;
    return value > 0 ? `+${value}` : value < 0 ? `\u2212${Math.abs(value)}` : "±0";
  }

  function direction(n) {
    return n > 0 ? "up" : n < 0 ? "down" : "flat";
  }

  function when(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function shortDate(ms) {
    return new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  const REASONS = {
    commit_analysis: "commit",
    daily_decay: "no commits (daily decay)",
    death: "death",
    revival: "revival",
    manual_reset: "reset",
  };

  /**
   * Pictures are always served by this server, but the API and events give absolute URLs built
   * from PUBLIC_URL; keeping only the path keeps them same-origin (and within the CSP).
   */
  function samePath(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.pathname + parsed.search;
    } catch (err) {
      return url;
    }
  }

  // --- the pet card -------------------------------------------------------------------------

  function visualState(entity) {
    return entity.status === "dead" ? "dead" : entity.state;
  }

  function renderEntity() {
    const e = data.entity;
    const state = visualState(e);
    const card = document.getElementById("pet");
    card.className = `pet-card state-${state}`;
    document.getElementById("pet-name").textContent = e.name;
    document.getElementById("pet-health").textContent = String(e.health_score);
    document.getElementById("pet-state").textContent = state.charAt(0).toUpperCase() + state.slice(1);
    document.getElementById("pet-status").textContent = e.status;
    document.getElementById("pet-generation").textContent = String(e.generation);
    document.getElementById("pet-health-bar").setAttribute("width", String(e.health_score));
    const picture = document.getElementById("pet-picture");
    const src = e.visual_url ? samePath(e.visual_url) : "";
    if (src && picture.getAttribute("src") !== src) picture.setAttribute("src", src);
    picture.setAttribute("alt", `${e.name}, a ${e.species}, looking ${state}`);
  }

  // --- the 30-day chart ---------------------------------------------------------------------

  function chartScale(now) {
    const start = now - data.days * DAY_MS;
    const w = CHART.width - CHART.left - CHART.right;
    const h = CHART.height - CHART.top - CHART.bottom;
    return {
      start,
      x: (ms) => CHART.left + ((ms - start) / (now - start)) * w,
      y: (health) => CHART.top + (1 - health / 100) * h,
    };
  }

  function chartGrid(svg, scale, now) {
    const levels = new Set([0, 100, ...data.ranges.map((r) => r.min)]);
    for (const level of [...levels].sort((a, b) => a - b)) {
      const y = scale.y(level);
      svg.append(svgEl("line", { class: "grid", x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y }));
      svg.append(svgEl("text", { class: "axis-label", x: CHART.left - 6, y: y + 4, "text-anchor": "end" }, String(level)));
    }
    const bottom = CHART.height - 8;
    const mid = scale.start + (now - scale.start) / 2;
    svg.append(svgEl("text", { class: "axis-label", x: CHART.left, y: bottom }, shortDate(scale.start)));
    svg.append(svgEl("text", { class: "axis-label", x: scale.x(mid), y: bottom, "text-anchor": "middle" }, shortDate(mid)));
    svg.append(svgEl("text", { class: "axis-label", x: CHART.width - CHART.right, y: bottom, "text-anchor": "end" }, "now"));
  }

  function windowed(now) {
    const start = now - data.days * DAY_MS;
    return data.history
      .map((item) => ({ ...item, ms: new Date(item.timestamp).getTime() }))
      .filter((item) => !Number.isNaN(item.ms) && item.ms >= start && item.ms <= now + DAY_MS)
      .sort((a, b) => a.ms - b.ms);
  }

  function describePoint(item) {
    const why = REASONS[item.change_reason] || item.change_reason || "change";
    const sha = item.commit_sha ? ` ${item.commit_sha.slice(0, 7)}` : "";
    return `${when(item.timestamp)}: ${item.health_score}/100 (${signed(item.delta)}, ${why}${sha})`;
  }

  function renderChart() {
    // Draw in CSS pixels of the box itself, so text and dots keep their size at any width.
    CHART.width = Math.max(240, Math.round(chartBox.clientWidth || 600));
    CHART.height = Math.max(140, Math.round(chartBox.clientHeight || 200));
    const now = Date.now();
    const scale = chartScale(now);
    const points = windowed(now);
    const current = Number(data.entity.health_score) || 0;
    const first = points.length ? points[0].health_score : current;
    const svg = svgEl("svg", {
      viewBox: `0 0 ${CHART.width} ${CHART.height}`,
      role: "img",
      "aria-labelledby": "chart-title",
      "data-points": points.length,
    });
    const summary = points.length
      ? `Health over the last ${data.days} days: ${points.length} changes, from ${first} to ${current} now.`
      : `No health changes in the last ${data.days} days; health is ${current}.`;
    svg.append(svgEl("title", { id: "chart-title" }, summary));
    chartGrid(svg, scale, now);
    const coords = points.map((p) => [scale.x(p.ms), scale.y(p.health_score)]);
    if (coords.length > 1) {
      svg.append(svgEl("polyline", { class: "line", points: coords.map((c) => c.join(",")).join(" ") }));
    }
    const lastX = coords.length ? coords[coords.length - 1][0] : CHART.left;
    svg.append(svgEl("line", { class: "now", x1: lastX, x2: scale.x(now), y1: scale.y(current), y2: scale.y(current) }));
    points.forEach((p, i) => {
      const circle = svgEl("circle", {
        class: `point ${direction(p.delta)}`,
        cx: coords[i][0],
        cy: coords[i][1],
        r: 4,
        "data-point": "",
        "data-health": p.health_score,
      });
      circle.append(svgEl("title", {}, describePoint(p)));
      svg.append(circle);
    });
    chartBox.replaceChildren(svg);
    renderChartTable(points);
  }

  function renderChartTable(points) {
    const rows = points.slice().reverse().map((p) =>
      el("tr", {},
        el("td", {}, el("time", { datetime: p.timestamp }, when(p.timestamp))),
        el("td", {}, String(p.health_score)),
        el("td", {}, signed(p.delta)),
        el("td", {}, REASONS[p.change_reason] || p.change_reason || "")));
    document.querySelector("#chart-table tbody").replaceChildren(...rows);
  }

  // --- recent analyses ----------------------------------------------------------------------

  function isHighlighted(sha) {
    return page.highlight.length >= 7 && typeof sha === "string" && sha.toLowerCase().startsWith(page.highlight);
  }

  function reasonList(reasons) {
    if (!reasons || !reasons.length) return null;
    const items = reasons.map((r) =>
      el("li", {}, el("span", { class: "points" }, signed(r.points)), " ", r.detail || r.code || ""));
    return el("ul", { class: "reasons", "aria-label": "Reasons" }, ...items);
  }

  function analysisItem(a) {
    const commit = a.commit || {};
    const sha = commit.sha || "";
    const impact = a.health_impact || {};
    const delta = Number(impact.delta) || 0;
    const quality = a.quality_metrics ? a.quality_metrics.overall_score : undefined;
    const title = (commit.message || "").split("\n")[0] || "(no message)";
    const link = el("a", { href: `${page.githubUrl}/${page.fullName}/commit/${sha}` },
      el("code", {}, sha.slice(0, 7)), el("span", { class: "visually-hidden" }, " (view the commit on GitHub)"));
    const deltaLabel = el("span", { class: `delta ${direction(delta)}` },
      `${signed(delta)} `, el("span", { class: "visually-hidden" }, "health, "), direction(delta) === "flat" ? "no change" : direction(delta));
    const head = el("h3", { class: "head" }, link, deltaLabel, el("span", { class: "msg" }, title));
    const meta = [];
    if (commit.author) meta.push(`by ${commit.author}`);
    if (quality !== undefined && quality !== null) meta.push(`quality ${Number(quality).toFixed(1)}/10`);
    const stamp = a.processed_at || commit.committed_at;
    const metaLine = el("p", { class: "meta" }, meta.join(" · "), meta.length && stamp ? " · " : "",
      stamp ? el("time", { datetime: stamp }, when(stamp)) : null);
    const highlighted = isHighlighted(sha);
    const item = el("li", { class: highlighted ? "analysis highlight" : "analysis", "data-sha": sha, id: `commit-${sha.slice(0, 12)}` },
      highlighted ? el("p", { class: "this-commit" }, "This commit") : null,
      head, metaLine, reasonList(impact.reasons));
    if (highlighted) item.setAttribute("aria-current", "true");
    return item;
  }

  function renderAnalyses() {
    const list = document.getElementById("analysis-list");
    list.replaceChildren(...data.analyses.map(analysisItem));
    document.getElementById("no-analyses").hidden = data.analyses.length > 0;
  }

  function renderAll() {
    renderEntity();
    renderChart();
    renderAnalyses();
  }

  // --- live updates -------------------------------------------------------------------------

  function announce(text) {
    document.getElementById("live-status").textContent = text;
  }

  function isOurs(msg) {
    const e = data.entity;
    if (msg.entity_id !== undefined && msg.entity_id === e.id) return true;
    if (msg.repository_id !== undefined && msg.repository_id === e.repository_id) return true;
    const repo = msg.repository;
    const name = typeof repo === "string" ? repo : repo && repo.full_name;
    return typeof name === "string" && name.toLowerCase() === String(page.fullName).toLowerCase();
  }

  function onHealthUpdate(msg) {
    const e = data.entity;
    const delta = msg.health_score - e.health_score;
    Object.assign(e, {
      health_score: msg.health_score,
      state: msg.state || e.state,
      status: msg.status || e.status,
      visual_url: msg.visual_url || e.visual_url,
    });
    data.history.push({
      timestamp: msg.timestamp || new Date().toISOString(),
      health_score: msg.health_score,
      change_reason: msg.change_reason || "change",
      delta,
    });
    renderEntity();
    renderChart();
    const why = msg.change_reason ? `: ${msg.change_reason}` : "";
    announce(`${e.name} is now ${visualState(e)} at ${e.health_score}/100 (${signed(delta)})${why}`);
  }

  function onStatusChange(msg) {
    Object.assign(data.entity, { status: msg.new_status, health_score: msg.health_score ?? data.entity.health_score });
    if (msg.visual_url) data.entity.visual_url = msg.visual_url;
    renderEntity();
    announce(msg.message || `${data.entity.name} is now ${msg.new_status}`);
  }

  function onAnalysisComplete(msg) {
    const sha = msg.commit_sha || "";
    if (!data.analyses.some((a) => a.commit && a.commit.sha === sha)) {
      data.analyses.unshift({
        commit: { sha, message: msg.message || "" },
        quality_metrics: { overall_score: msg.quality_score },
        health_impact: { delta: msg.health_delta, reasons: msg.reasons || [] },
        processed_at: msg.timestamp,
      });
      renderAnalyses();
    }
    refresh();
  }

  function onSnapshot(msg) {
    const mine = (msg.entities || []).find((e) => e.id === data.entity.id || isOurs({ repository: e.repository }));
    if (mine) {
      data.entity = { ...data.entity, ...mine };
      renderEntity();
    }
  }

  function handle(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "snapshot") return onSnapshot(msg);
    if (!isOurs(msg)) return;
    if (msg.entity_id !== undefined && msg.entity_id !== data.entity.id) return refresh();
    if (msg.type === "health_update") onHealthUpdate(msg);
    else if (msg.type === "status_change") onStatusChange(msg);
    else if (msg.type === "analysis_complete") onAnalysisComplete(msg);
  }

  async function refresh() {
    if (!page.apiUrl) return;
    try {
      const response = await fetch(page.apiUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      data = { ...data, ...stripEmpty(normalise(await response.json())) };
      renderAll();
    } catch (err) {
      // Offline or the server restarting: the next poll or socket message tries again.
    }
  }

  function stripEmpty(fresh) {
    const out = { ...fresh };
    if (!out.ranges.length) delete out.ranges;
    return out;
  }

  let pollTimer = null;
  let retryDelay = 1000;

  function startPolling() {
    if (page.apiUrl && pollTimer === null) pollTimer = setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!page.wsUrl || !("WebSocket" in window)) return startPolling();
    const url = new URL(page.wsUrl, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url.href);
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      stopPolling();
      main.dataset.live = "connected";
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (err) {
        // A frame we don't understand is ignored; the next one may be fine.
      }
    });
    socket.addEventListener("close", () => {
      main.dataset.live = "polling";
      startPolling();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, POLL_MS);
    });
  }

  // --- the badge snippet --------------------------------------------------------------------

  function setupCopy() {
    const button = document.getElementById("copy-badge");
    const field = document.getElementById("badge-markdown");
    if (!button || !field) return;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (err) {
        field.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy the Markdown"; }, 2000);
    });
  }

  function focusHighlight() {
    const item = document.querySelector(".analysis.highlight");
    if (item) item.scrollIntoView({ block: "center" });
  }

  renderAll();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderChart, 150);
  });
  setupCopy();
  focusHighlight();
  connect();
})();
