// SPA demo: sign in to the API from another origin, keeping both JWTs in memory only.
//
// Never written to localStorage, sessionStorage, cookies or the DOM: a script injected
// into the page (XSS) cannot read them back from storage after the fact, and closing or
// reloading the tab forgets them. The price: a reload means signing in again.
"use strict";

(() => {
  const DEFAULT_API = "http://127.0.0.1:8000";
  const MAX_REFRESH_MARGIN = 30; // seconds before expiry; at most 20% of the token's lifetime

  const $ = (id) => document.getElementById(id);
  const api = apiBase();

  let tokens = null; // {access, refresh}: this variable is the only place they live
  let refreshTimer = null;
  let refreshing = null; // the refresh in flight, shared: a rotated refresh token is never sent twice
  let refreshCount = 0;

  class NetworkError extends Error {}

  class SignedOut extends Error {} // the sign-in ended; the status line already says so

  class ApiError extends Error {
    constructor(status, code, detail) {
      super(detail || `HTTP ${status}`);
      this.status = status;
      this.code = code || "";
    }
  }

  function apiBase() {
    const raw = new URLSearchParams(window.location.search).get("api") || DEFAULT_API;
    try {
      const url = new URL(raw);
      if (url.protocol === "http:" || url.protocol === "https:") {
        return url.origin + url.pathname.replace(/\/+$/, "");
      }
    } catch (e) {
      // fall through to the default
    }
    return DEFAULT_API;
  }

  // Read the claims of a JWT without verifying it: only to schedule the refresh. The API verifies.
  function claims(jwt) {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  }

  async function call(path, { method = "GET", body = undefined, auth = true, retry = true } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth) {
      if (!tokens) throw new ApiError(401, "not_signed_in", "Not signed in");
      headers.Authorization = `Bearer ${tokens.access}`;
    }
    let response;
    try {
      response = await fetch(api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit", // Bearer tokens only: no cookies cross the origins
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch (e) {
      // The browser hides why on purpose: a CORS refusal and a dead server look the same to scripts.
      throw new NetworkError(e.message);
    }
    if (response.status === 401 && auth && retry) {
      await refreshNow(); // e.g. the tab slept past the timer; fails (and signs out) if the sign-in was revoked
      return call(path, { method, body, auth, retry: false });
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, data && data.code, data && data.detail);
    }
    return data;
  }

  function refreshNow() {
    if (!refreshing) {
      const refresh = tokens && tokens.refresh;
      refreshing = (async () => {
        if (!refresh) throw new ApiError(401, "not_signed_in", "Not signed in");
        try {
          const pair = await call("/api/token/refresh/", { method: "POST", body: { refresh }, auth: false });
          if (!tokens || tokens.refresh !== refresh) return; // signed out meanwhile: don't bring tokens back
          setTokens(pair);
          refreshCount += 1;
          renderTokenInfo();
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) {
            signedOut("Your sign-in has ended (revoked or expired). Please sign in again.", true);
            throw new SignedOut(e.message);
          }
          throw e;
        }
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  function setTokens(pair) {
    tokens = { access: pair.access, refresh: pair.refresh };
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const { exp, iat } = claims(tokens.access);
    const margin = Math.min(MAX_REFRESH_MARGIN, (exp - iat) * 0.2);
    const delay = Math.max(1000, (exp - margin) * 1000 - Date.now());
    tokens.refreshAt = Date.now() + delay;
    tokens.expiresAt = exp * 1000;
    refreshTimer = setTimeout(() => refreshNow().catch(showError), delay);
  }

  function time(ms) {
    return new Date(ms).toLocaleTimeString();
  }

  function renderTokenInfo() {
    const info = $("token-info");
    info.replaceChildren();
    if (!tokens) return;
    const parts = [
      ["Access token valid until ", "access-expires", time(tokens.expiresAt)],
      [" · next refresh at ", "next-refresh", time(tokens.refreshAt)],
      [" · refreshes so far: ", "refresh-count", String(refreshCount)],
    ];
    for (const [label, id, value] of parts) {
      const span = document.createElement("span");
      span.id = id;
      span.textContent = value;
      info.append(label, span);
    }
  }

  function setStatus(message, kind = "info") {
    const status = $("status");
    status.textContent = message;
    status.className = `status ${kind}`;
  }

  function showError(e) {
    if (e instanceof SignedOut) return;
    if (e instanceof NetworkError) {
      setStatus(
        `Network or CORS error: the browser did not let this page read the API at ${api}. ` +
          `Is this page's origin (${window.location.origin}) in the API's CORS_ALLOWED_ORIGINS, and is the API running? (${e.message})`,
        "error",
      );
    } else if (e instanceof ApiError) {
      setStatus(`${e.message} (HTTP ${e.status}${e.code ? `, ${e.code}` : ""})`, "error");
    } else {
      setStatus(String(e), "error");
    }
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function renderSessions(list) {
    const body = $("sessions").querySelector("tbody");
    body.replaceChildren();
    for (const item of list) {
      const row = document.createElement("tr");
      row.className = item.current ? "credential current" : "credential";
      row.dataset.kind = item.kind;
      const device = cell(item.device);
      if (item.current) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "This app";
        device.append(" ", badge);
      }
      const ua = document.createElement("div");
      ua.className = "user-agent";
      ua.textContent = item.user_agent || "No user agent";
      device.append(ua);
      const actions = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      if (item.current) {
        button.textContent = "Sign out";
        button.addEventListener("click", signOut);
      } else {
        button.textContent = "Revoke";
        button.addEventListener("click", () => revoke(item));
      }
      actions.append(button);
      row.append(
        cell(item.kind === "session" ? "Browser session" : "API sign-in"),
        device,
        cell(item.ip || "—"),
        cell(new Date(item.created).toLocaleString()),
        cell(new Date(item.last_used).toLocaleString()),
        actions,
      );
      body.append(row);
    }
  }

  async function loadAccount() {
    const [me, sessions] = await Promise.all([call("/api/me/"), call("/api/me/sessions/")]);
    $("me-username").textContent = me.username;
    $("me-email").textContent = me.email || "—";
    renderSessions(sessions);
    renderTokenInfo();
  }

  function showSignedIn(signedIn) {
    $("signin-section").hidden = signedIn;
    $("account-section").hidden = !signedIn;
    document.body.dataset.state = signedIn ? "signed-in" : "signed-out";
  }

  function signedOut(message, isError = false) {
    clearTimeout(refreshTimer);
    tokens = null;
    refreshCount = 0;
    showSignedIn(false);
    $("sessions").querySelector("tbody").replaceChildren();
    renderTokenInfo();
    setStatus(message, isError ? "error" : "info");
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $("username").value;
    const password = $("password").value;
    setStatus("Signing in…");
    try {
      setTokens(await call("/api/token/", { method: "POST", body: { username, password }, auth: false }));
      $("password").value = "";
      await loadAccount();
      showSignedIn(true);
      setStatus("Signed in.", "ok");
    } catch (e) {
      if (tokens) signedOut(""); // half-way: forget what we got rather than keep it unseen
      showError(e);
    }
  }

  async function revoke(item) {
    try {
      await call(`/api/me/sessions/${encodeURIComponent(item.id)}/`, { method: "DELETE" });
      setStatus(item.kind === "session" ? "Revoked that browser session." : "Revoked that API sign-in.", "ok");
      await loadAccount();
    } catch (e) {
      showError(e);
    }
  }

  async function reload() {
    try {
      await loadAccount();
      setStatus("Reloaded.", "ok");
    } catch (e) {
      showError(e);
    }
  }

  async function signOut() {
    if (refreshing) await refreshing.catch(() => null); // blacklist the newest refresh token, not a rotated one
    if (!tokens) return;
    const refresh = tokens.refresh;
    try {
      await call("/api/token/blacklist/", { method: "POST", body: { refresh }, auth: false });
      signedOut("Signed out: this sign-in and its tokens are revoked on the server.");
    } catch (e) {
      signedOut("Signed out of this tab, but the API could not be told; the sign-in may still be active.", true);
    }
  }

  $("api-base").textContent = api;
  $("signin-form").addEventListener("submit", signIn);
  $("reload-button").addEventListener("click", reload);
  $("logout-button").addEventListener("click", signOut);
  showSignedIn(false);
})();
