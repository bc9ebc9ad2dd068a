// Browser checks for the site, in the system's headless Chromium through playwright-core.
// pytest (tests/site/test_browser.py) starts a real `tamagitto serve`, then runs:
//   node tests/site/browser/run.mjs <check> <base-url> [args...]
// Each check prints one JSON object on its last stdout line; the assertions live in pytest.
// playwright-core comes from site/node_modules (cd site && npm ci).
import { createRequire } from "node:module";

const require = createRequire(new URL("../../../site/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];
const TIMEOUT = 15000;

/** A page that records console errors, CSP violations and requests to other origins. */
async function openPage(browser, base, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const seen = { consoleErrors: [], foreignRequests: [], failedRequests: [], pageErrors: [] };
  page.on("console", (msg) => { if (msg.type() === "error") seen.consoleErrors.push(msg.text()); });
  page.on("pageerror", (err) => seen.pageErrors.push(String(err)));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("data:") && !url.startsWith(origin) && !url.startsWith(origin.replace("http", "ws"))) {
      seen.foreignRequests.push(url);
    }
  });
  page.on("requestfailed", (req) => seen.failedRequests.push(req.url()));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, seen };
}

async function finish(page, seen) {
  const csp = await page.evaluate(() => window.__cspViolations || []);
  return { ...seen, cspViolations: csp };
}

const checks = {
  /** Every species and state figure on the landing page, and the install link. */
  async landing(browser, base) {
    const { page, seen } = await openPage(browser, base);
    const response = await page.goto(`${base}/`, { waitUntil: "load" });
    const figures = await page.$$eval("figure.sprite", (nodes) => nodes.map((n) => ({
      species: n.closest("section.species")?.dataset.species,
      state: n.dataset.state,
      svg: Boolean(n.querySelector("svg")),
      caption: n.querySelector("figcaption")?.textContent.trim(),
      visible: n.getBoundingClientRect().width > 20,
    })));
    const install = await page.getAttribute("#install", "href");
    const rules = await page.$$eval("ul.rules li", (items) => items.map((r) => r.dataset.code));
    const states = await page.$$eval("table.states tbody tr", (rows) => rows.map((r) => r.textContent.trim()));
    const headers = response.headers();
    return { status: response.status(), csp: headers["content-security-policy"], figures, install, rules, states, ...(await finish(page, seen)) };
  },

  /** The pet page as drawn: health, state, chart points, analyses, highlight. */
  async pet(browser, base, path) {
    const { page, seen } = await openPage(browser, base);
    const response = await page.goto(`${base}${path}`, { waitUntil: "load" });
    await page.waitForSelector("#chart svg", { timeout: TIMEOUT });
    const result = await page.evaluate(() => ({
      name: document.getElementById("pet-name").textContent,
      health: document.getElementById("pet-health").textContent,
      state: document.getElementById("pet-state").textContent,
      petStatus: document.getElementById("pet-status").textContent,
      bar: document.getElementById("pet-health-bar").getAttribute("width"),
      picture: document.getElementById("pet-picture").getAttribute("src"),
      pictureLoaded: document.getElementById("pet-picture").naturalWidth > 0,
      points: [...document.querySelectorAll("#chart [data-point]")].map((c) => Number(c.dataset.health)),
      pointStates: [...document.querySelectorAll("#chart [data-point]")].map((c) => ({
        state: c.dataset.state,
        fill: getComputedStyle(c).fill,
      })),
      stateColours: Object.fromEntries(["thriving", "healthy", "okay", "poor", "dying", "dead"].map((s) => [
        s, (() => {
          const probe = document.createElementNS("http://www.w3.org/2000/svg", "circle");
          probe.setAttribute("class", `point state-${s}`);
          document.querySelector("#chart svg").append(probe);
          const fill = getComputedStyle(probe).fill;
          probe.remove();
          return fill;
        })(),
      ])),
      pointLabels: [...document.querySelectorAll("#chart [data-label]")].map((t) => t.textContent),
      markers: [...document.querySelectorAll("#chart [data-marker]")].map((m) => m.dataset.marker),
      rows: [...document.querySelectorAll("#chart-table tbody tr")].map((tr) => ({
        reason: tr.dataset.reason,
        decayStart: tr.hasAttribute("data-decay-start"),
        cells: [...tr.cells].map((td) => td.textContent),
        timeTitle: tr.querySelector("time")?.getAttribute("title") || null,
        time: tr.querySelector("time")?.getAttribute("datetime") || null,
      })),
      analyses: [...document.querySelectorAll("#analysis-list .analysis")].map((li) => ({
        sha: li.dataset.sha,
        scored: li.querySelector(".scored")?.textContent.trim() || null,
        time: li.querySelector(".meta time")?.getAttribute("datetime") || null,
        timeTitle: li.querySelector(".meta time")?.getAttribute("title") || null,
        delta: li.querySelector(".delta")?.textContent.trim(),
        reasons: li.querySelectorAll(".reasons li").length,
        link: li.querySelector("a")?.getAttribute("href"),
        highlighted: li.classList.contains("highlight"),
      })),
      snippet: document.getElementById("badge-markdown").value,
      badgeLoaded: document.querySelector(".badge-preview img").naturalWidth > 0,
    }));
    return { status: response.status(), ...result, ...(await finish(page, seen)) };
  },

  /** A private or unknown repository's page. */
  async notfound(browser, base, path) {
    const { page, seen } = await openPage(browser, base);
    const response = await page.goto(`${base}${path}`, { waitUntil: "load" });
    const h1 = await page.textContent("h1");
    const home = await page.getAttribute("a.button", "href");
    return { status: response.status(), h1, home, ...(await finish(page, seen)) };
  },

  /** The setup wizard's form: the organization choice points the manifest form at it. */
  async setup(browser, base) {
    const { page, seen } = await openPage(browser, base);
    const response = await page.goto(`${base}/setup`, { waitUntil: "load" });
    const personal = await page.evaluate(() => document.getElementById("manifest-form").action);
    const orgHiddenAtFirst = await page.isHidden("#org-field");
    await page.check("#owner-org");
    await page.fill("#org-name", "pet-lovers");
    const organization = await page.evaluate(() => document.getElementById("manifest-form").action);
    const manifest = await page.getAttribute("input[name=manifest]", "value");
    await page.check("#owner-personal");
    const back = await page.evaluate(() => document.getElementById("manifest-form").action);
    return {
      status: response.status(), personal, organization, back, orgHiddenAtFirst, manifest,
      csp: response.headers()["content-security-policy"], ...(await finish(page, seen)),
    };
  },

  /** 360 px wide: no page scrolls sideways; a screenshot of each for people to look at. */
  async narrow(browser, base, outDir, ...paths) {
    const results = [];
    for (const path of paths) {
      const { page, seen } = await openPage(browser, base, { width: 360, height: 740 });
      await page.goto(`${base}${path}`, { waitUntil: "load" });
      await page.waitForTimeout(200);
      // Sections off screen skip layout (content-visibility: auto), so scroll through the whole
      // page and measure at every step.
      const size = await page.evaluate(async () => {
        const frame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        const out = { scrollWidth: 0, innerWidth: window.innerWidth, wide: [] };
        for (let y = 0; y <= document.documentElement.scrollHeight; y += window.innerHeight / 2) {
          window.scrollTo(0, y);
          await frame();
          out.scrollWidth = Math.max(out.scrollWidth, document.documentElement.scrollWidth);
          for (const n of document.querySelectorAll("body *")) {
            const label = `${n.tagName.toLowerCase()}.${n.className}`;
            if (n.getBoundingClientRect().right > window.innerWidth + 1
                && !n.closest(".table-scroll, pre, .visually-hidden") && !out.wide.includes(label)) {
              out.wide.push(label);
            }
          }
        }
        window.scrollTo(0, 0);
        out.wide = out.wide.slice(0, 5);
        return out;
      });
      const file = `${outDir}/narrow-${path.replace(/[^a-z0-9]+/gi, "_")}.png`;
      // A viewport as tall as the page, so sections that skip rendering off screen are drawn.
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.setViewportSize({ width: 360, height: Math.min(height, 16000) });
      await page.waitForTimeout(300);
      await page.screenshot({ path: file });
      results.push({ path, ...size, screenshot: file, ...(await finish(page, seen)) });
      await page.context().close();
    }
    return { results };
  },

  /** Open the pet page, say "ready" once its socket is up, then wait for `sha` to arrive live. */
  async live(browser, base, path, sha) {
    const { page, seen } = await openPage(browser, base);
    await page.goto(`${base}${path}`, { waitUntil: "load" });
    await page.waitForSelector("main[data-live=connected]", { timeout: TIMEOUT });
    const read = () => page.evaluate(() => ({
      health: document.getElementById("pet-health").textContent,
      state: document.getElementById("pet-state").textContent,
      petStatus: document.getElementById("pet-status").textContent,
      bar: document.getElementById("pet-health-bar").getAttribute("width"),
      picture: document.getElementById("pet-picture").getAttribute("src"),
      announced: document.getElementById("live-status").textContent,
      points: document.querySelectorAll("#chart [data-point]").length,
      shas: [...document.querySelectorAll("#analysis-list .analysis")].map((li) => li.dataset.sha),
      navigations: performance.getEntriesByType("navigation").length,
    }));
    const before = await read();
    await page.evaluate(() => { window.__sameDocument = true; });
    console.log("ready");
    await page.waitForFunction(
      ([s, h]) => document.querySelector(`#analysis-list .analysis[data-sha="${s}"]`)
        && document.getElementById("pet-health").textContent !== h
        && document.getElementById("live-status").textContent !== "",
      [sha, before.health],
      { timeout: 60000 },
    );
    await page.waitForTimeout(500); // let the follow-up refresh from the public API land
    const after = await read();
    const sameDocument = await page.evaluate(() => window.__sameDocument === true);
    return { before, after, sameDocument, ...(await finish(page, seen)) };
  },
};

const [name, base, ...rest] = process.argv.slice(2);
if (!checks[name]) {
  console.error(`unknown check ${name}; one of ${Object.keys(checks).join(", ")}`);
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const result = await checks[name](browser, base, ...rest);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
