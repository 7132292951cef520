// The Vigil console. Every string from an incident reaches the page through textContent or an
// attribute value set by the DOM API: nothing from the data is ever parsed as HTML.

const URGENCIES = ["critical", "high", "medium", "low"];
const STATUSES = ["new", "in_progress", "on_hold", "resolved", "closed"];
const ACTIVE = new Set(["new", "in_progress", "on_hold"]);
const VERDICTS = [
  "unknown",
  "true_positive",
  "false_positive",
  "benign_positive",
  "security_risk",
  "managed_externally",
  "duplicate",
];
const SVG = "http://www.w3.org/2000/svg";

const state = {
  me: undefined,
  incidents: new Map(),
  fresh: new Set(),
  filters: { urgency: "", status: "", organisation: "", asset: "", rule: "", q: "" },
  current: undefined,
  liveEvents: new Map(),
};

/** el("td", { class: "x" }, "text", child): strings become text nodes, never markup. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes ?? {})) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { Accept: "application/json", "X-Vigil-CSRF": "1", ...(options.headers ?? {}) },
  });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("signed out");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : `${date.toISOString().replace("T", " ").slice(0, 16)}Z`;
}

function relative(iso) {
  if (!iso) return "";
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
  const magnitude = Math.abs(minutes);
  const text =
    magnitude < 60
      ? `${magnitude} min`
      : magnitude < 2880
        ? `${Math.round(magnitude / 60)} h`
        : `${Math.round(magnitude / 1440)} d`;
  return minutes >= 0 ? `in ${text}` : `${text} ago`;
}

function badge(kind, value) {
  return el("span", { class: `badge ${kind}-${value ?? "none"}` }, value ?? "none");
}

function ownerOf(incident) {
  return incident.owner?.organisation ?? incident.asset.owner ?? "";
}

function urgencyRank(incident) {
  return incident.urgency ? 4 - URGENCIES.indexOf(incident.urgency) : 0;
}

function queueOrder(a, b) {
  const urgency = urgencyRank(b) - urgencyRank(a);
  if (urgency !== 0) return urgency;
  const due = (incident) => (incident.sla ? Date.parse(incident.sla.due) : Number.POSITIVE_INFINITY);
  const byDue = due(a) - due(b);
  if (byDue !== 0 && !Number.isNaN(byDue)) return byDue;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The server's filters, again here: a pushed incident joins or leaves the queue without a reload. */
function matches(incident) {
  const f = state.filters;
  const statuses =
    f.status === "" ? ["new", "in_progress", "on_hold"] : f.status === "all" ? STATUSES : [f.status];
  if (!statuses.includes(incident.status)) return false;
  if (f.urgency && incident.urgency !== f.urgency) return false;
  if (f.organisation && ownerOf(incident) !== f.organisation) return false;
  if (f.asset && incident.asset.id !== f.asset) return false;
  if (f.rule && incident.rule_id !== f.rule) return false;
  if (f.q) {
    const haystack = [
      incident.title,
      incident.description,
      incident.asset.id,
      incident.asset.hostname,
      incident.asset.ip,
    ]
      .filter(Boolean)
      .join(" ")
      .toLowerCase();
    if (
      !f.q
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean)
        .every((term) => haystack.includes(term))
    )
      return false;
  }
  return true;
}

function route() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [, section, ...rest] = hash.split("/");
  const id = rest.length > 0 ? decodeURIComponent(rest.join("/")) : undefined;
  state.current = undefined;
  if (section === "incident" && id) return showIncident(id);
  if (section === "asset" && id) return showAsset(id);
  if (section === "dashboard") return showDashboard();
  if (section === "unmanaged") return showUnmanaged();
  return showQueue();
}

function view(...children) {
  const main = document.getElementById("view");
  main.replaceChildren(...children);
  return main;
}

// ---- the queue ----

function queueRow(incident) {
  const fresh = state.fresh.has(incident.id);
  return el(
    "tr",
    { "data-id": incident.id, class: fresh ? "fresh" : undefined },
    el("td", {}, badge("urgency", incident.urgency)),
    el("td", {}, badge("severity", incident.severity)),
    el("td", {}, incident.status),
    el(
      "td",
      { class: "title" },
      el("a", { href: `#/incident/${encodeURIComponent(incident.id)}` }, incident.title),
    ),
    el(
      "td",
      {},
      el(
        "a",
        { href: `#/asset/${encodeURIComponent(incident.asset.id)}` },
        incident.asset.hostname ?? incident.asset.id,
      ),
    ),
    el("td", {}, ownerOf(incident)),
    el(
      "td",
      { class: incident.sla?.breached ? "breached" : undefined },
      incident.sla ? `${when(incident.sla.due)} (${relative(incident.sla.due)})` : "",
    ),
    el("td", { class: "level" }, String(incident.escalation?.level ?? 0)),
  );
}

function renderQueueRows() {
  const body = document.querySelector("#queue tbody");
  if (!body) return;
  const rows = [...state.incidents.values()].filter(matches).sort(queueOrder).map(queueRow);
  body.replaceChildren(...rows);
  const count = document.getElementById("queue-count");
  if (count) count.textContent = `${rows.length} incident${rows.length === 1 ? "" : "s"}`;
  if (rows.length === 0)
    body.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "Nothing matches.")));
}

function filterControls() {
  const f = state.filters;
  const select = (name, values, label) =>
    el(
      "select",
      { name, "aria-label": label },
      el("option", { value: "" }, label),
      values.map((value) => el("option", { value, selected: f[name] === value }, value)),
    );
  const text = (name, label) =>
    el("input", { name, placeholder: label, "aria-label": label, value: f[name] });
  const form = el(
    "form",
    { id: "filters", class: "filters" },
    select("urgency", URGENCIES, "any urgency"),
    select("status", [...STATUSES, "all"], "open"),
    text("organisation", "organisation"),
    text("asset", "asset id"),
    text("rule", "rule id"),
    el("input", { name: "q", type: "search", placeholder: "search", "aria-label": "search", value: f.q }),
    el("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    for (const key of Object.keys(state.filters)) state.filters[key] = String(data.get(key) ?? "").trim();
    loadQueue();
  });
  return form;
}

async function loadQueue() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
  const { incidents } = await api(`/api/incidents?${params}`);
  state.incidents = new Map(incidents.map((incident) => [incident.id, incident]));
  renderQueueRows();
}

async function showQueue() {
  view(
    el("h1", {}, "Incident queue ", el("small", { id: "queue-count" })),
    filterControls(),
    el(
      "table",
      { id: "queue" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Urgency", "Severity", "Status", "Title", "Asset", "Owner", "SLA due", "Level"].map((h) =>
            el("th", {}, h),
          ),
        ),
      ),
      el("tbody"),
    ),
  );
  await loadQueue();
}

// ---- the incident page ----

function section(title, ...children) {
  return el("section", {}, el("h2", {}, title), ...children);
}

function definitionList(pairs) {
  return el(
    "dl",
    {},
    pairs
      .filter(([, value]) => value !== undefined && value !== "" && value !== null)
      .flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]),
  );
}

function timelineItems(incident, events) {
  const items = [];
  const ids = new Set();
  for (const event of [...events, ...(state.liveEvents.get(incident.id) ?? [])]) {
    if (ids.has(event.id)) continue;
    ids.add(event.id);
    items.push({
      id: event.id,
      time: event.time,
      type: event.type,
      actor: event.actor,
      summary: event.summary,
    });
  }
  // The incident's own (bounded) timeline covers what neither the store nor the stream brought yet.
  const key = (item) => `${item.time}|${item.type}|${item.actor}|${item.summary}`;
  const seen = new Set(items.map(key));
  for (const entry of incident.timeline ?? [])
    if (!seen.has(key(entry))) items.push({ ...entry, id: undefined });
  return items.sort((a, b) => a.time.localeCompare(b.time));
}

function renderTimeline(incident, events) {
  return el(
    "ol",
    { id: "timeline", class: "timeline" },
    timelineItems(incident, events).map((item) =>
      el(
        "li",
        { "data-type": item.type },
        el("time", {}, when(item.time)),
        " ",
        el("strong", {}, item.type),
        " ",
        el("span", { class: "actor" }, item.actor),
        ": ",
        item.summary,
      ),
    ),
  );
}

function renderLadder(incident) {
  const escalation = incident.escalation;
  if (!escalation) return el("p", {}, "No escalation ladder.");
  const rows = escalation.plan.map((step) =>
    el(
      "li",
      { class: step.level <= escalation.level ? "done" : step.level === escalation.next_level ? "next" : "" },
      `Level ${step.level}: ${step.action.replaceAll("_", " ")} at ${when(step.at)} (${relative(step.at)})`,
    ),
  );
  return el(
    "div",
    {},
    el(
      "p",
      {},
      `Level ${escalation.level}. `,
      escalation.next_level
        ? `Next: level ${escalation.next_level} ${relative(escalation.next_at)} (${when(escalation.next_at)}).`
        : escalation.acknowledged_by
          ? `Clock stopped: acknowledged by ${escalation.acknowledged_by} at ${when(escalation.acknowledged_at)}.`
          : "Clock stopped.",
    ),
    el("ol", { class: "ladder" }, rows),
  );
}

function renderAssetCard(card, incident) {
  // What the finding said of the asset (its tier and why), then what the inventory knows of it.
  const asset = incident.asset;
  const fromFinding = definitionList([
    ["Asset", asset.id],
    ["Host name", asset.hostname],
    ["Address", asset.ip],
    ["Priority tier", asset.priority],
    ["Why this tier", asset.priority_reason],
    ["Owner", ownerOf(incident)],
    ["Tags", (asset.tags ?? []).join(", ")],
  ]);
  if (!card) return fromFinding;
  if (card.is_managed === undefined)
    return el(
      "div",
      { class: "asset-card" },
      fromFinding,
      el("p", { class: "muted" }, "Not in the inventory."),
    );
  const roles = card.roles
    ? [
        card.roles.domain_controller ? "domain controller" : "",
        card.roles.business_critical ? "business critical" : "",
        ...card.roles.tags,
      ]
        .filter(Boolean)
        .join(", ")
    : "";
  return el(
    "div",
    { class: "asset-card" },
    fromFinding,
    el("h3", {}, "Inventory"),
    definitionList([
      ["Host name", card.hostname],
      ["Addresses", card.ips.join(", ")],
      ["Priority tier (now)", card.tier],
      ["Owner", card.owner?.organisation],
      [
        "Contacts",
        (card.owner?.contacts ?? []).map((c) => [c.name, c.email].filter(Boolean).join(" ")).join("; "),
      ],
      ["Roles", roles],
      ["OS", card.os ? [card.os.name, card.os.version, card.os.build].filter(Boolean).join(" ") : undefined],
      ["Managed", card.is_managed === undefined ? undefined : card.is_managed ? "yes" : "no"],
    ]),
    card.baseline_deltas.length > 0
      ? el(
          "table",
          { class: "small" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Baseline", "Class", "Item", "Direction", "Expected", "Actual", "Exception"].map((h) =>
                el("th", {}, h),
              ),
            ),
          ),
          el(
            "tbody",
            {},
            card.baseline_deltas.map((d) =>
              el(
                "tr",
                {},
                el("td", {}, d.baseline),
                el("td", {}, d.class),
                el("td", {}, d.item),
                el("td", {}, d.direction),
                el("td", {}, d.expected),
                el("td", {}, d.actual),
                el("td", {}, d.excepted_by ? `${d.excepted_by.id} until ${d.excepted_by.expires}` : ""),
              ),
            ),
          ),
        )
      : el("p", {}, "No baseline differences."),
    card.missing_updates.length > 0
      ? el("p", {}, "Missing updates: ", card.missing_updates.map((u) => u.id).join(", "))
      : undefined,
    card.exposures.length > 0
      ? el(
          "ul",
          {},
          card.exposures.map((x) =>
            el(
              "li",
              {},
              `${x.cve} (${x.advisory})`,
              x.known_exploited ? el("span", { class: "badge kev" }, "KEV") : undefined,
              x.missing_kbs.length ? ` missing ${x.missing_kbs.join(", ")}` : "",
            ),
          ),
        )
      : undefined,
  );
}

/**
 * Why the sink would refuse this action on the incident as it is now (its own rules, in
 * @vigil/incidents' onCommand), or undefined. Only a hint for the page: the sink stays the judge.
 */
function refusal(action, incident) {
  const active = ACTIVE.has(incident.status);
  switch (action) {
    case "acknowledge":
      if (!active) return `the incident is ${incident.status}`;
      if (incident.escalation?.acknowledged_by !== undefined)
        return `already acknowledged by ${incident.escalation.acknowledged_by}`;
      return undefined;
    case "assign":
      return incident.status === "closed" ? "the incident is closed" : undefined;
    case "set_status":
    case "resolve":
      return active ? undefined : `the incident is ${incident.status}`;
    default:
      return undefined;
  }
}

/**
 * The action bar of one incident page, built once: a live change only calls `update`, so the
 * buttons, what the analyst types and the last answer are never replaced under the pointer (a
 * click whose mousedown and mouseup land on two different buttons is no click at all).
 */
function actionBar(incidentId) {
  const message = el("p", { id: "action-message", role: "status" });
  const buttons = new Map();
  // Actions whose POST is in flight: a second click would send a second command.
  const pending = new Set();
  // Read at click time, never captured at build time: the bar outlives many versions of the incident.
  const current = () =>
    state.current?.kind === "incident" && state.current.id === incidentId
      ? state.current.detail.incident
      : undefined;
  const update = () => {
    const incident = current();
    for (const [action, button] of buttons) {
      const why = incident ? refusal(action, incident) : "this incident page is closed";
      button.disabled = pending.has(action) || why !== undefined;
      if (why) button.title = why;
      else button.removeAttribute("title");
    }
  };
  const send = async (action, build) => {
    const incident = current();
    if (!incident) return;
    const why = refusal(action, incident);
    if (why) {
      message.textContent = `Not sent: ${why}.`;
      return;
    }
    pending.add(action);
    update();
    message.textContent = "Sending…";
    try {
      const { id } = await api(`/api/incidents/${encodeURIComponent(incident.id)}/actions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(build()),
      });
      message.textContent = `Sent (${id}); the timeline updates when the sink applies it.`;
    } catch (error) {
      message.textContent = `Refused: ${error.message}`;
    } finally {
      pending.delete(action);
      update();
    }
  };
  const input = (name, placeholder) => el("input", { name, placeholder, "aria-label": placeholder });
  const pick = (name, values) =>
    el(
      "select",
      { name, "aria-label": name },
      values.map((v) => el("option", { value: v }, v)),
    );
  const assignee = input("assignee", "assignee");
  const note = input("note", "note");
  const status = pick("status", ["in_progress", "on_hold"]);
  const verdict = pick("verdict", VERDICTS);
  const summary = input("summary", "resolution summary");
  // `build` reads the fields when clicked, so it sends what is typed then.
  const button = (action, label, build) => {
    const node = el(
      "button",
      { type: "button", "data-action": action, onclick: () => send(action, build) },
      label,
    );
    buttons.set(action, node);
    return node;
  };
  const node = el(
    "div",
    { class: "actions" },
    el(
      "div",
      {},
      button("acknowledge", "Acknowledge", () => ({ type: "acknowledge" })),
    ),
    el(
      "div",
      {},
      assignee,
      button("assign", "Assign", () => ({ type: "assign", assignee: assignee.value })),
    ),
    el(
      "div",
      {},
      note,
      button("comment", "Add note", () => ({ type: "comment", text: note.value })),
    ),
    el(
      "div",
      {},
      status,
      button("set_status", "Set status", () => ({ type: "set_status", status: status.value })),
    ),
    el(
      "div",
      {},
      verdict,
      button("set_verdict", "Set verdict", () => ({ type: "set_verdict", verdict: verdict.value })),
    ),
    el(
      "div",
      {},
      summary,
      button("resolve", "Resolve", () => ({
        type: "resolve",
        summary: summary.value,
        verdict: verdict.value,
      })),
    ),
    message,
  );
  return { node, update };
}

/** What a live change redraws at the top: the title and the one-line summary. */
function incidentHead(incident) {
  return [
    el("p", {}, el("a", { href: "#/" }, "← queue")),
    el("h1", {}, incident.title),
    el(
      "p",
      { class: "summary" },
      badge("urgency", incident.urgency),
      " ",
      badge("severity", incident.severity),
      " ",
      el("span", { id: "incident-status" }, incident.status),
      incident.verdict ? ` · verdict ${incident.verdict}` : "",
      incident.assignee ? ` · assigned to ${incident.assignee}` : "",
      incident.sla
        ? ` · SLA due ${when(incident.sla.due)} (${relative(incident.sla.due)})${incident.sla.breached ? " BREACHED" : ""}`
        : "",
    ),
  ];
}

/** What a live change redraws below: why, evidence, asset, advisories, ladder, timeline. */
function incidentBody({ incident, events, asset, advisories }) {
  return [
    section(
      "Why was this raised?",
      definitionList([
        ["Rule", incident.rule_id],
        ["Findings", String(incident.finding_count)],
        ["First seen", when(incident.first_seen)],
        ["Last seen", when(incident.last_seen)],
        ["ATT&CK", incident.attack.join(", ")],
      ]),
      el("p", { class: "explanation" }, incident.explanation),
      el("p", { class: "description" }, incident.description),
    ),
    section(
      "Evidence",
      incident.evidence.length > 0
        ? el(
            "ul",
            { class: "evidence" },
            incident.evidence.map((ref) =>
              el(
                "li",
                {},
                el("time", {}, when(ref.time)),
                " ",
                ref.summary,
                el("small", {}, ` ${ref.topic} ${ref.id}`),
              ),
            ),
          )
        : el("p", {}, "No evidence references."),
    ),
    section(
      "Asset",
      el(
        "p",
        {},
        el(
          "a",
          { href: `#/asset/${encodeURIComponent(incident.asset.id)}` },
          "All open incidents of this asset",
        ),
      ),
      renderAssetCard(asset, incident),
    ),
    (advisories ?? []).length > 0
      ? section(
          "Advisories",
          el(
            "ul",
            {},
            advisories.map((a) =>
              el(
                "li",
                {},
                a.cve,
                a.known_exploited ? el("span", { class: "badge kev" }, "KEV") : undefined,
                (a.advisories ?? []).map((x) => ` ${x.id}${x.title ? `: ${x.title}` : ""}`).join(";"),
              ),
            ),
          ),
        )
      : undefined,
    section("Escalation ladder", renderLadder(incident)),
    section("Timeline", renderTimeline(incident, events)),
  ].filter(Boolean);
}

/**
 * The incident page's frame, built once per visit: the head and the body are redrawn on each live
 * change, the action bar beside them only updated. The bar has its own grid column, so nothing
 * redrawn above it (a longer evidence list, a new timeline entry) moves it under the pointer.
 */
function incidentPage(id) {
  const known = state.current?.page;
  if (known?.id === id && known.article.isConnected) return known;
  const head = el("div", { class: "incident-head" });
  const body = el("div", { class: "incident-body" });
  const bar = state.me?.role === "analyst" ? actionBar(id) : undefined;
  const article = el(
    "article",
    { id: "incident", class: "incident", "data-id": id },
    head,
    el(
      "aside",
      { class: "incident-actions" },
      section("Actions", bar?.node ?? el("p", { class: "muted" }, "Viewers cannot act on incidents.")),
    ),
    body,
  );
  view(article);
  const page = { id, article, head, body, bar };
  if (state.current) state.current.page = page;
  return page;
}

function renderIncident(detail) {
  const { incident } = detail;
  const page = incidentPage(incident.id);
  page.head.replaceChildren(...incidentHead(incident));
  page.body.replaceChildren(...incidentBody(detail));
  page.bar?.update();
}

async function showIncident(id) {
  view(el("p", {}, "Loading…"));
  const detail = await api(`/api/incidents/${encodeURIComponent(id)}`);
  // The stream keeps pushing while the page loads (and only reaches the page once it is shown):
  // a version pushed meanwhile is newer than what the load read.
  const pushed = state.incidents.get(id);
  if (pushed && pushed.version > detail.incident.version) detail.incident = pushed;
  state.current = { kind: "incident", id, detail };
  renderIncident(detail);
}

// ---- assets ----

function incidentList(incidents) {
  return el(
    "table",
    { class: "small" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["Urgency", "Status", "Title", "SLA due"].map((h) => el("th", {}, h)),
      ),
    ),
    el(
      "tbody",
      {},
      incidents.map((incident) =>
        el(
          "tr",
          { "data-id": incident.id },
          el("td", {}, badge("urgency", incident.urgency)),
          el("td", {}, incident.status),
          el("td", {}, el("a", { href: `#/incident/${encodeURIComponent(incident.id)}` }, incident.title)),
          el("td", {}, incident.sla ? when(incident.sla.due) : ""),
        ),
      ),
    ),
  );
}

async function showAsset(id) {
  const detail = await api(`/api/assets/${encodeURIComponent(id)}`);
  const first = detail.incidents[0];
  view(
    el(
      "article",
      { id: "asset" },
      el("h1", {}, "Asset ", id),
      section(
        "Open incidents",
        detail.incidents.length ? incidentList(detail.incidents) : el("p", {}, "None."),
      ),
      section(
        "Findings",
        detail.findings.length === 0
          ? el("p", {}, "None.")
          : el(
              "table",
              { class: "small", id: "asset-findings" },
              el(
                "thead",
                {},
                el(
                  "tr",
                  {},
                  ["Finding", "Rule", "Incident", "Status", "Last seen"].map((h) => el("th", {}, h)),
                ),
              ),
              el(
                "tbody",
                {},
                detail.findings.map((finding) =>
                  el(
                    "tr",
                    {},
                    el("td", {}, finding.id),
                    el("td", {}, finding.rule),
                    el(
                      "td",
                      {},
                      el(
                        "a",
                        { href: `#/incident/${encodeURIComponent(finding.incident_id)}` },
                        finding.title,
                      ),
                    ),
                    el("td", {}, finding.status),
                    el("td", {}, when(finding.last_seen)),
                  ),
                ),
              ),
            ),
      ),
      detail.card || first
        ? section("Asset card", renderAssetCard(detail.card, first ?? { asset: { id, tags: [] } }))
        : undefined,
    ),
  );
}

async function showUnmanaged() {
  const { tables, hosts } = await api("/api/unmanaged");
  view(
    el("h1", {}, "Unmanaged hosts"),
    !tables
      ? el("p", {}, "This console has no reference tables.")
      : hosts.length === 0
        ? el("p", {}, "Every known host is managed.")
        : el(
            "table",
            { class: "small" },
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                ["Host", "Addresses", "Type", "OS", "Seen by", "Last seen"].map((h) => el("th", {}, h)),
              ),
            ),
            el(
              "tbody",
              {},
              hosts.map((host) =>
                el(
                  "tr",
                  {},
                  el(
                    "td",
                    {},
                    el("a", { href: `#/asset/${encodeURIComponent(host.id)}` }, host.hostname ?? host.id),
                  ),
                  el("td", {}, host.ips.join(", ")),
                  el("td", {}, host.type ?? ""),
                  el("td", {}, host.os ?? ""),
                  el("td", {}, host.sources.join(", ")),
                  el("td", {}, when(host.last_seen)),
                ),
              ),
            ),
          ),
  );
}

// ---- pictures ----

const COLORS = { critical: "#b3261e", high: "#e8710a", medium: "#f2c14e", low: "#4c8bf5", none: "#9aa0a6" };

function overTimeChart(data) {
  const width = 720;
  const height = 240;
  const pad = 30;
  const series = data.series;
  const totals = series.map((point) => data.urgencies.reduce((sum, u) => sum + point[u], 0));
  const max = Math.max(1, ...totals);
  const barWidth = series.length ? Math.min(48, Math.max(4, (width - 2 * pad) / series.length - 4)) : 0;
  const bars = series.flatMap((point, index) => {
    let y = height - pad;
    const x = pad + index * (barWidth + 4);
    return data.urgencies.map((urgency) => {
      const h = (point[urgency] / max) * (height - 2 * pad);
      y -= h;
      return svg(
        "rect",
        { x, y, width: barWidth, height: h, fill: COLORS[urgency], "data-urgency": urgency },
        svg("title", {}, `${point.start} ${urgency}: ${point[urgency]}`),
      );
    });
  });
  const labels = series.length
    ? [
        svg("text", { x: pad, y: height - 8, class: "axis" }, series[0].start),
        svg(
          "text",
          { x: width - pad, y: height - 8, class: "axis", "text-anchor": "end" },
          series[series.length - 1].start,
        ),
      ]
    : [svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "No incidents yet")];
  const legend = data.urgencies.map((urgency, index) =>
    svg(
      "g",
      {},
      svg("rect", { x: pad + index * 90, y: 4, width: 12, height: 12, fill: COLORS[urgency] }),
      svg("text", { x: pad + index * 90 + 16, y: 14, class: "axis" }, urgency),
    ),
  );
  return svg(
    "svg",
    {
      id: "chart-over-time",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": "Incidents over time by urgency",
    },
    legend,
    bars,
    labels,
    svg("text", { x: 4, y: pad, class: "axis" }, String(max)),
  );
}

function complianceChart(rows) {
  const width = 720;
  const rowHeight = 26;
  const labelWidth = 240;
  const height = Math.max(40, rows.length * rowHeight + 30);
  const parts = [
    ["compliant", "#188038"],
    ["below", "#b3261e"],
    ["policy", "#e8710a"],
    ["above", "#4c8bf5"],
  ];
  const items = rows.flatMap((row, index) => {
    const y = 24 + index * rowHeight;
    let x = labelWidth;
    const scale = (width - labelWidth - 10) / Math.max(1, row.hosts);
    return [
      svg("text", { x: 4, y: y + 14, class: "axis" }, `${row.baseline} / ${row.class} (${row.hosts})`),
      ...parts.map(([key, color]) => {
        const w = row[key] * scale;
        const rect = svg(
          "rect",
          { x, y, width: w, height: rowHeight - 6, fill: color, "data-part": key },
          svg("title", {}, `${key}: ${row[key]}`),
        );
        x += w;
        return rect;
      }),
    ];
  });
  const legend = parts.map(([key, color], index) =>
    svg(
      "g",
      {},
      svg("rect", { x: labelWidth + index * 110, y: 2, width: 12, height: 12, fill: color }),
      svg("text", { x: labelWidth + index * 110 + 16, y: 12, class: "axis" }, key),
    ),
  );
  return svg(
    "svg",
    {
      id: "chart-compliance",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": "Patch compliance by baseline class",
    },
    legend,
    items,
  );
}

async function showDashboard() {
  const [hourly, compliance] = await Promise.all([
    api("/api/stats/over-time?bucket=hour"),
    api("/api/compliance"),
  ]);
  view(
    el("h1", {}, "Dashboard"),
    section("Incidents over time by urgency (per hour)", overTimeChart(hourly)),
    section(
      "Patch compliance by baseline class",
      compliance.tables
        ? complianceChart(compliance.classes)
        : el("p", {}, "This console has no reference tables."),
    ),
  );
}

// ---- live updates ----

function connectStream() {
  const indicator = document.getElementById("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => {
    indicator.textContent = "live";
    indicator.className = "live on";
  });
  source.addEventListener("error", () => {
    indicator.textContent = "reconnecting";
    indicator.className = "live off";
  });
  source.addEventListener("incident", (message) => {
    const incident = JSON.parse(message.data);
    if (!state.incidents.has(incident.id)) state.fresh.add(incident.id);
    state.incidents.set(incident.id, incident);
    renderQueueRows();
    // A version pushed before the page's own load answered is older than what the page shows:
    // taking it would show a past state, and the action bar would judge its buttons by it.
    if (
      state.current?.kind === "incident" &&
      state.current.id === incident.id &&
      incident.version >= state.current.detail.incident.version
    ) {
      state.current.detail = { ...state.current.detail, incident };
      renderIncident(state.current.detail);
    }
  });
  source.addEventListener("incident-event", (message) => {
    const event = JSON.parse(message.data);
    const list = state.liveEvents.get(event.incident_id) ?? [];
    list.push(event);
    state.liveEvents.set(event.incident_id, list.slice(-200));
    if (state.current?.kind === "incident" && state.current.id === event.incident_id)
      renderIncident(state.current.detail);
  });
}

async function start() {
  state.me = await api("/api/me");
  document.getElementById("whoami").textContent = `${state.me.name} (${state.me.role})`;
  document.getElementById("logout").addEventListener("click", async () => {
    await api("/api/logout", { method: "POST" }).catch(() => {});
    window.location.assign("/login");
  });
  connectStream();
  window.addEventListener("hashchange", () => route().catch(showError));
  await route();
}

function showError(error) {
  view(el("p", { class: "error", role: "alert" }, String(error.message ?? error)));
}

start().catch(showError);
