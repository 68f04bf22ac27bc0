// Upload a finished film to the user's YouTube channel, with its metadata.
import * as api from "/app/api.js";
import { $, el, status, label } from "/app/views.js";

const RETURN = "filmstudio.youtubeReturn"; // the project to come back to (an id, not a secret)

// Send the browser to Google's consent screen; the redirect comes back to #/youtube?code=...
export async function connect(project) {
  sessionStorage.setItem(RETURN, project);
  const answer = await api.api("POST", "/v1/youtube:connect", {});
  location.assign(answer.authorizationUrl);
}

// Finish the connection the redirect started; return the project to show again.
export async function complete(query) {
  const params = new URLSearchParams(query);
  const project = sessionStorage.getItem(RETURN) || "";
  sessionStorage.removeItem(RETURN);
  if (params.get("error")) throw new Error(`YouTube was not connected: ${params.get("error")}`);
  const answer = await api.api("POST", "/v1/youtube:complete", {
    code: params.get("code"),
    state: params.get("state"),
  });
  status(`Connected to the YouTube channel “${answer.channel.title}”.`);
  return project;
}

export async function upload(project, onDone) {
  const tags = $("#yt-tags").value.split(",").map((tag) => tag.trim()).filter(Boolean);
  const answer = await api.api("POST", "/v1/youtube/uploads", {
    project,
    title: $("#yt-title").value,
    description: $("#yt-description").value,
    tags,
    privacyStatus: $("#yt-privacy").value,
    madeForKids: $("#yt-kids").checked,
    requestId: crypto.randomUUID(),
  });
  $("#yt-status").textContent = "Uploading…";
  api.watchJob(
    answer.job,
    (event) => {
      $("#yt-progress").value = Number(event.progress || 0);
      $("#yt-status").textContent = event.message || "";
    },
    async () => {
      const done = await api.api("GET", `/v1/${answer.name}`);
      const state = label(done.state, "UPLOAD_STATE_");
      $("#yt-status").replaceChildren(`Upload ${state}. `);
      if (done.videoUrl) $("#yt-status").append(el("a", "Watch it on YouTube", { href: done.videoUrl }));
      if (done.error) $("#yt-status").append(` ${done.error}`);
      if (onDone) onDone(done);
    },
  );
}
