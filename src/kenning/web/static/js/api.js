// The REST API from the browser. The access token lives in this module only (memory);
// the refresh token is an HttpOnly cookie the page never sees (src/kenning/web/session.py).
// Reloading the page restores the session through the cookie.

const SESSION = "/web/session";
const CSRF = { "X-Kenning-CSRF": "1" };
let accessToken = null;
let refreshTimer = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Called when the session is gone (logout, expiry, revocation). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

function keep(session) {
  accessToken = session.access_token;
  clearTimeout(refreshTimer);
  // renew a minute before expiry so a long chat never meets a 401 mid-question
  const delay = Math.max(10, session.expires_in - 60) * 1000;
  refreshTimer = setTimeout(() => restore().catch(() => forget()), delay);
}

function forget() {
  accessToken = null;
  clearTimeout(refreshTimer);
  onSignedOut();
}

async function sessionCall(method, path, body) {
  const headers = { ...CSRF };
  if (body) headers["Content-Type"] = "application/json";
  if (accessToken && method === "DELETE") headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(SESSION + path, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

export async function login(tenant, username, password) {
  keep(await sessionCall("POST", "", { tenant, username, password }));
}

/** Resume the session from the cookie; false when there is none. */
export async function restore() {
  try {
    keep(await sessionCall("POST", "/refresh"));
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return false;
    throw err;
  }
}

export async function logout() {
  try {
    await sessionCall("DELETE", "");
  } finally {
    forget();
  }
}

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
  return new ApiError(response.status, detail, body);
}

/** fetch() with the bearer token; one transparent refresh and retry on 401. */
export async function raw(path, options = {}, retry = true) {
  const headers = { ...(options.headers || {}) };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(path, { ...options, headers, credentials: "omit" });
  if (response.status === 401 && retry) {
    if (await restore().catch(() => false)) return raw(path, options, false);
    forget();
  }
  if (!response.ok) throw await problem(response);
  return response;
}

/** JSON in, JSON out (null for 204). */
export async function call(method, path, json) {
  const options = { method };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers = { "Content-Type": "application/json" };
  }
  const response = await raw(path, options);
  return response.status === 204 ? null : response.json();
}

export const get = (path) => call("GET", path);

/**
 * Upload one file with XMLHttpRequest, the one browser API that reports upload progress.
 * Resolves with the job the server created for it.
 */
export function upload(file, acl, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("files", file, file.name);
    for (const entry of acl) form.append("acl", entry);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response?.detail || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network error")));
    xhr.send(form);
  });
}
