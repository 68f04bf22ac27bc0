// The page's only way to the studio: the public REST API, plus the cookie session routes.
// The access token lives in this module's memory; the refresh token is an HttpOnly cookie.

let accessToken = "";
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

async function parse(response) {
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
    credentials: "same-origin",
  });
  return parse(response);
}

export function signedIn() {
  return accessToken !== "";
}

export async function login(email, password) {
  const answer = await post("/app/session/login", { email, password });
  accessToken = answer.accessToken;
  return answer.user;
}

// One refresh at a time: two calls that find the token expired share the new one.
export async function refresh() {
  if (!refreshing) {
    refreshing = post("/app/session/refresh")
      .then((answer) => {
        accessToken = answer.signedIn ? answer.accessToken : "";
        return answer.signedIn;
      })
      .catch(() => {
        accessToken = "";
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

export async function logout() {
  try {
    await fetch("/app/session/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${accessToken}` },
      body: "{}",
      credentials: "same-origin",
    });
  } finally {
    accessToken = "";
  }
}

async function send(method, path, body, raw) {
  const headers = { Authorization: `Bearer ${accessToken}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
}

// Call the API as the signed-in user; an expired access token is refreshed once.
export async function api(method, path, body) {
  let response = await send(method, path, body);
  if (response.status === 401 && (await refresh())) response = await send(method, path, body);
  return parse(response);
}

// "Continue with Google/GitHub": the provider's URL; its state is kept in an HttpOnly cookie.
export async function startOAuth(provider) {
  return (await post("/app/session/oauth/start", { provider })).authorizationUrl;
}

export async function register(email, password, firstName) {
  return post("/v1/users:register", { email, password, firstName });
}

// An artifact's bytes as a blob: URL (a <video> cannot send an Authorization header).
export async function artifactUrl(owner, kind) {
  const body = owner.startsWith("jobs/") ? { job: owner, kind } : { project: owner, kind };
  let response = await send("POST", "/app/artifact", body);
  if (response.status === 401 && (await refresh())) response = await send("POST", "/app/artifact", body);
  if (!response.ok) await parse(response);
  return URL.createObjectURL(await response.blob());
}

// Follow a job's events by Server-Sent Events; reconnects with a fresh token after the last id.
export function watchJob(job, onEvent, onEnd) {
  let last = "";
  let source = null;
  let stopped = false;
  const open = () => {
    const query = new URLSearchParams({ access_token: accessToken });
    if (last) query.set("after_event_id", last);
    source = new EventSource(`/v1/${job}:watch?${query}`);
    source.onmessage = (message) => {
      last = message.lastEventId || last;
      const event = JSON.parse(message.data).event || {};
      onEvent(event);
      if (event.terminal) stop();
    };
    source.addEventListener("end", () => stop());
    source.addEventListener("error", (message) => {
      if (message.data) stop(); // the server refused the stream (no such job, signed out)
    });
    source.onerror = async () => {
      // The stream broke (a restart, an expired token): reopen it ourselves, after `last`.
      source.close();
      if (stopped) return;
      await refresh();
      setTimeout(() => !stopped && open(), 1000);
    };
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (source) source.close();
    if (onEnd) onEnd();
  };
  open();
  return stop;
}
