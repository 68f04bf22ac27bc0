// FilmStudio in a browser: routes by the URL's hash, so a reload lands on the same view.
import * as api from "/app/api.js";
import { $, el, show, status, error, label, projectItem, price, StageBars, creditsRows } from "/app/views.js";
import * as youtube from "/app/youtube.js";

const config = await (await fetch("/app/config.json")).json();
let me = null;
let stopWatching = null;
let current = null; // the project on screen

async function run(task) {
  error("");
  try {
    return await task();
  } catch (failure) {
    error(failure.message || String(failure));
    return undefined;
  }
}

async function loadMe() {
  me = await api.api("GET", "/v1/users/me");
  $("#nav").hidden = false;
  $("#admin-link").hidden = me.role !== "ROLE_ADMIN";
  await refreshBalance();
}

async function refreshBalance() {
  const credits = await api.api("GET", "/v1/users/me/credits");
  $("#balance").textContent = `(${credits.available || 0})`;
  return credits;
}

async function route() {
  if (stopWatching) stopWatching();
  stopWatching = null;
  if (!api.signedIn()) {
    $("#nav").hidden = true;
    show("auth");
    if (location.hash === "#/oauth-failed") error("Signing in with Google or GitHub did not complete. Please try again.");
    return;
  }
  if (location.hash.startsWith("#/youtube?")) {
    // Back from Google's consent screen: finish connecting, then show the project again.
    const project = await run(() => youtube.complete(location.hash.split("?")[1]));
    location.replace(project ? `#/projects/${project.split("/")[1]}` : "#/projects");
    return;
  }
  const [, page, id, verb] = location.hash.split("/");
  if (page === "projects" && id && verb === "edit") return run(() => openEditor(id));
  if (page === "projects" && id) return run(() => openProject(id));
  if (page === "new") return openEditor();
  if (page === "credits") return run(openCredits);
  if (page === "admin" && me && me.role === "ROLE_ADMIN") return run(openAdmin);
  return run(openProjects);
}

async function openProjects() {
  const answer = await api.api("GET", "/v1/projects?pageSize=50");
  const items = (answer.projects || []).map(projectItem);
  $("#project-list").replaceChildren(...(items.length ? items : [el("li", "No projects yet.")]));
  show("projects");
}

// The editor creates a project, or with an id changes one (with its etag: a stale copy fails).
async function openEditor(id) {
  $("#editor").reset();
  $("#editor").dataset.project = "";
  $("#editor-title").textContent = "New project";
  if (id) {
    const project = await api.api("GET", `/v1/projects/${id}`);
    $("#editor").dataset.project = project.name;
    $("#editor").dataset.etag = project.etag;
    $("#editor-title").textContent = `Edit “${project.title}”`;
    $("#ed-title").value = project.title;
    $("#ed-script").value = project.script;
    $("#ed-style").value = project.style;
    $("#ed-duration").value = project.targetDurationSeconds;
    $("#ed-aspect").value = project.aspectRatio;
    $("#ed-resolution").value = project.resolution;
    $("#ed-voice").value = project.voice;
  }
  show("editor");
}

const EDITABLE = "title,script,style,targetDurationSeconds,aspectRatio,resolution,voice";

async function saveProject(event) {
  event.preventDefault();
  const form = new FormData($("#editor"));
  const project = {
    title: form.get("title"),
    script: form.get("script"),
    style: form.get("style"),
    targetDurationSeconds: Number(form.get("duration")),
    aspectRatio: form.get("aspectRatio"),
    resolution: form.get("resolution"),
    voice: form.get("voice"),
  };
  const editing = $("#editor").dataset.project;
  const created = editing
    ? await api.api("PATCH", `/v1/${editing}?updateMask=${EDITABLE}`, { ...project, etag: $("#editor").dataset.etag })
    : await api.api("POST", "/v1/projects", project);
  status(`Project “${created.title}” saved.`);
  location.hash = `#/projects/${created.name.split("/")[1]}`;
}

function showMeta() {
  $("#project-title").textContent = current.title;
  $("#project-meta").textContent = [
    label(current.status, "PROJECT_STATUS_"),
    label(current.style, "STYLE_"),
    `${current.targetDurationSeconds} s`,
    label(current.aspectRatio, "ASPECT_RATIO_").replace(" ", ":"),
    label(current.resolution, "RESOLUTION_"),
    label(current.voice, ""),
  ].join(" · ");
}

async function openProject(id) {
  current = await api.api("GET", `/v1/projects/${id}`);
  showMeta();
  const cost = price(config, "full_generation", current.targetDurationSeconds, label(current.resolution, "RESOLUTION_"));
  $("#price").textContent = String(cost);
  $("#edit-project").setAttribute("href", `#/projects/${id}/edit`);
  $("#price-basis").textContent = `(${current.targetDurationSeconds} s at ${label(current.resolution, "RESOLUTION_")})`;
  $("#job-panel").hidden = true;
  $("#result").hidden = true;
  show("project");
  if (current.latestJob) {
    const job = await api.api("GET", `/v1/${current.latestJob}`);
    if (job.status === "JOB_STATUS_SUCCEEDED") await showResult(current.latestJob);
    else if (!["JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"].includes(job.status)) follow(job.name);
  }
}

async function generate() {
  const body = { project: current.name, jobType: "JOB_TYPE_FULL_GENERATION" };
  // A draft renders a small picture: the same film, minutes faster.
  if ($("#draft").checked) body.parameters = { extra: { render_height: 144 } };
  const job = await api.api("POST", "/v1/jobs", body);
  status(`Generation started: ${job.costCredits} credits on hold.`);
  current = await api.api("GET", `/v1/${current.name}`);
  showMeta();
  await refreshBalance();
  follow(job.name);
}

function follow(job) {
  $("#job-panel").hidden = false;
  $("#result").hidden = true;
  $("#job-name").textContent = job;
  $("#cancel-job").hidden = false;
  $("#cancel-job").dataset.job = job;
  const bars = new StageBars();
  let last = null;
  stopWatching = api.watchJob(
    job,
    (event) => {
      last = event;
      bars.update(event);
    },
    () => run(async () => {
      $("#cancel-job").hidden = true;
      const succeeded = last && last.status === "JOB_STATUS_SUCCEEDED";
      bars.finish(succeeded);
      if (succeeded) {
        status("Your film is ready.");
        await showResult(job);
      } else if (last && last.terminal) {
        error(`The job ended: ${label(last.status, "JOB_STATUS_")}. ${last.message || ""}`);
      }
      current = await api.api("GET", `/v1/${current.name}`);
      showMeta();
      await refreshBalance();
    }),
  );
}

async function showResult(job) {
  const [video, subtitles, thumbnail] = await Promise.all([
    api.artifactUrl(job, "video"),
    api.artifactUrl(job, "subtitles_vtt"),
    api.artifactUrl(job, "thumbnail"),
  ]);
  $("#player").src = video;
  $("#subtitles").src = subtitles;
  $("#thumbnail").src = thumbnail;
  $("#result").hidden = false;
  $("#result").dataset.job = job;
  $("#youtube").hidden = !config.youtube;
  if (!$("#yt-title").value) $("#yt-title").value = current.title;
}

async function download(kind) {
  const url = await api.artifactUrl($("#result").dataset.job, kind);
  const names = { video: "film.mp4", subtitles_srt: "film.srt", subtitles_vtt: "film.vtt", thumbnail: "thumbnail.jpg" };
  const link = el("a", null, { href: url, download: names[kind] });
  document.body.append(link);
  link.click();
  link.remove();
}

async function openCredits() {
  const credits = await refreshBalance();
  $("#credits-summary").textContent =
    `${credits.available || 0} credits available, ${credits.reserved || 0} on hold (tier ${credits.tier}).`;
  const history = await api.api("GET", "/v1/users/me/creditTransactions?pageSize=50");
  $("#credits-history").replaceChildren(...creditsRows(history.transactions || []));
  show("credits");
}

async function openAdmin() {
  const { stats } = await api.api("GET", "/v1/admin/stats");
  const entries = Object.entries(stats || {}).filter(([, value]) => typeof value !== "object");
  $("#admin-stats").replaceChildren(...entries.flatMap(([name, value]) => [el("dt", name), el("dd", value)]));
  const queue = await api.api("GET", "/v1/admin/moderationQueue");
  const items = (queue.projects || []).map((project) => {
    const item = el("li", `${project.title} `);
    for (const verb of ["approve", "reject"]) {
      const button = el("button", verb === "approve" ? "Approve" : "Reject", { type: "button" });
      button.addEventListener("click", () => run(async () => {
        await api.api("POST", `/v1/admin/${project.name}:${verb}`, {});
        await openAdmin();
      }));
      item.append(button);
    }
    return item;
  });
  $("#admin-moderation").replaceChildren(...(items.length ? items : [el("li", "Nothing to review.")]));
  show("admin");
}

async function searchUsers(event) {
  event.preventDefault();
  const query = new URLSearchParams({ query: $("#admin-query").value });
  const answer = await api.api("GET", `/v1/admin/users?${query}`);
  $("#admin-users").replaceChildren(
    ...(answer.users || []).map((user) => el("li", `${user.email} · ${label(user.role, "ROLE_")} · ${label(user.state, "USER_STATE_")}`)),
  );
}

async function signIn(event) {
  event.preventDefault();
  await api.login($("#in-email").value, $("#in-password").value);
  await loadMe();
  await route();
}

async function signUp(event) {
  event.preventDefault();
  const email = $("#up-email").value;
  const password = $("#up-password").value;
  await api.register(email, password, $("#up-name").value);
  await api.login(email, password);
  await loadMe();
  status("Welcome! Your account is ready.");
  location.hash = "#/new";
  await route();
}

function wire() {
  $("#sign-in").addEventListener("submit", (event) => run(() => signIn(event)));
  $("#sign-up").addEventListener("submit", (event) => run(() => signUp(event)));
  $("#editor").addEventListener("submit", (event) => run(() => saveProject(event)));
  $("#admin-search").addEventListener("submit", (event) => run(() => searchUsers(event)));
  $("#generate").addEventListener("click", () => run(generate));
  $("#cancel-job").addEventListener("click", () => run(async () => {
    await api.api("POST", `/v1/${$("#cancel-job").dataset.job}:cancel`, {});
    status("Cancelling…");
  }));
  $("#sign-out").addEventListener("click", () => run(async () => {
    await api.logout();
    me = null;
    location.hash = "";
    await route();
  }));
  $("#yt-connect").addEventListener("click", () => run(() => youtube.connect(current.name)));
  $("#yt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => youtube.upload(current.name, () => run(refreshBalance)));
  });
  $("#ed-file").addEventListener("change", async () => {
    const file = $("#ed-file").files[0];
    if (!file) return;
    $("#ed-script").value = await file.text();
    if (!$("#ed-title").value) $("#ed-title").value = file.name.replace(/\.[^.]+$/, "");
  });
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => run(() => download(button.dataset.download)));
  }
  $("#oauth").hidden = config.oauth.length === 0;
  for (const button of document.querySelectorAll("[data-provider]")) {
    button.hidden = !config.oauth.includes(button.dataset.provider);
    button.addEventListener("click", () => run(async () => {
      location.assign(await api.startOAuth(button.dataset.provider));
    }));
  }
  window.addEventListener("hashchange", () => route());
}

wire();
// A reload keeps the session: the HttpOnly cookie gets a new access token.
if (await api.refresh()) await run(loadMe);
await route();
