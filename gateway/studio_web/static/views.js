// Small DOM helpers and the views that only display data (no calls to the API here).

export const $ = (selector) => document.querySelector(selector);

export function el(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

const VIEWS = ["auth", "projects", "editor", "project", "credits", "admin"];

// Show one view, move focus to its heading so keyboard and screen reader users follow.
export function show(name) {
  for (const view of VIEWS) $(`#view-${view}`).hidden = view !== name;
  const heading = $(`#view-${name} h1`);
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

export function status(text) {
  $("#status").textContent = text || "";
}

export function error(text) {
  $("#error").textContent = text || "";
}

export const label = (value, prefix) =>
  String(value || "").replace(prefix, "").toLowerCase().replaceAll("_", " ");

export function projectItem(project) {
  const item = el("li");
  const id = project.name.split("/")[1];
  item.append(el("a", project.title, { href: `#/projects/${id}` }));
  item.append(el("span", ` ${label(project.status, "PROJECT_STATUS_")}`, { class: "hint" }));
  return item;
}

// The price as CreateJob will compute it: base + per started minute, by resolution.
export function price(config, jobType, seconds, resolution) {
  const entry = config.prices[jobType] || { base: 0, per_minute: 0 };
  const factor = config.resolutionFactor[resolution] || 1;
  const minutes = Math.ceil(Math.max(seconds, 0) / 60);
  return Math.max(1, Math.ceil((entry.base || 0) + (entry.per_minute || 0) * minutes * factor));
}

// One row per stage: a <progress> of its share of the job, filled when the job succeeds.
export class StageBars {
  constructor() {
    this.percent = 0;
    this.rows = new Map();
    $("#stages").replaceChildren();
  }

  update(event) {
    const percent = Number(event.progress || 0);
    const gained = Math.max(0, percent - this.percent);
    this.percent = Math.max(this.percent, percent);
    const stage = event.stage || "";
    if (stage && stage !== "starting" && stage !== "done") {
      let row = this.rows.get(stage);
      if (!row) {
        const id = `stage-${stage}`;
        const item = el("li");
        item.append(el("label", label(stage), { for: id }));
        const bar = el("progress", null, { id, max: "100", value: "0" });
        item.append(bar, el("span", "", { class: "hint" }));
        $("#stages").append(item);
        row = { bar, note: item.lastChild, share: 0 };
        this.rows.set(stage, row);
      }
      row.share += gained;
      row.bar.value = Math.min(100, row.share);
      row.note.textContent = ` ${event.message || ""}`;
    }
    $("#job-progress").value = this.percent;
    $("#job-percent").textContent = `${Math.round(this.percent)} %`;
    $("#job-message").textContent = event.message || "";
  }

  finish(succeeded) {
    if (!succeeded) return;
    for (const row of this.rows.values()) {
      row.bar.max = Math.max(row.share, 1);
      row.bar.value = row.bar.max;
    }
  }
}

export function creditsRows(transactions) {
  return transactions.map((entry) => {
    const row = el("tr");
    const when = new Date(entry.createTime).toLocaleString();
    const amount = Number(entry.amount || 0);
    row.append(
      el("td", when),
      el("td", amount > 0 ? `+${amount}` : String(amount)),
      el("td", entry.balanceAfter || "0"),
      el("td", entry.reason || label(entry.kind, "TRANSACTION_KIND_")),
    );
    return row;
  });
}
