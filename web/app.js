// The demo page's behaviour: each button calls one route of jwtd serve and shows the
// answer. The access token is kept in a variable (never in storage); the refresh token
// travels only as the HttpOnly cookie set by /login, /register and /refresh.
"use strict";

(function () {
  let accessToken = null;

  const $ = (id) => document.getElementById(id);

  // Where jwtd is: this page's own origin, or the one <meta name="jwtd-api"> names when the
  // page is served from another origin (a front end on its own origin, listed in jwtd's
  // --cors-origins). Cross-origin calls send credentials so that the refresh cookie goes
  // along; the cookie is SameSite=Strict, so both origins must be the same site.
  const apiMeta = document.querySelector('meta[name="jwtd-api"]');
  const apiBase = apiMeta ? apiMeta.content.replace(/\/+$/, "") : "";

  function show(label, status, body) {
    // The API also returns the refresh token in the body (for clients without cookies);
    // the page does not print it: in a browser it belongs in the HttpOnly cookie only.
    if (body && typeof body === "object" && typeof body.refresh_token === "string")
      body = Object.assign({}, body, { refresh_token: "(set as the HttpOnly cookie; not shown)" });
    $("result-status").textContent = label + ": " + status;
    $("result-body").textContent =
      body === undefined ? "(no body)" : JSON.stringify(body, null, 2);
  }

  // The claims part of a JWT, for display only: the server is what verifies it.
  function decodeClaims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(
        atob(part).split("").map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")
      );
      return JSON.parse(json);
    } catch (e) {
      return null;
    }
  }

  function setToken(token) {
    accessToken = token;
    const claims = token ? decodeClaims(token) : null;
    $("claims").textContent = claims ? JSON.stringify(claims, null, 2) : "";
    $("session-state").textContent = claims
      ? "Logged in as " + claims.user + " (roles: " + (claims.roles || []).join(", ") +
        "); access token expires at " + new Date(claims.exp * 1000).toLocaleTimeString() + "."
      : "Not logged in.";
  }

  // One request, with the credentials (the refresh cookie) of its origin.
  async function call(method, path, body, useToken) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (useToken && accessToken) headers["Authorization"] = "Bearer " + accessToken;
    const label = method + " " + path;
    try {
      const resp = await fetch(apiBase + path, {
        method,
        headers,
        credentials: apiBase ? "include" : "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await resp.text();
      let data;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch (e) {
        data = text;
      }
      show(label, resp.status + " " + resp.statusText, data);
      return { status: resp.status, data };
    } catch (e) {
      show(label, "network error", String(e));
      return { status: 0 };
    }
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const ident = $("login-ident").value.trim();
    const body = ident.includes("@") ? { email: ident } : { username: ident };
    body.password = $("login-password").value;
    const r = await call("POST", "/login", body, false);
    $("login-password").value = "";
    if (r.status === 200) setToken(r.data.access_token);
  });

  $("register-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      username: $("reg-username").value.trim(),
      password: $("reg-password").value,
    };
    if ($("reg-email").value.trim()) body.email = $("reg-email").value.trim();
    if ($("reg-name").value.trim()) body.name = $("reg-name").value.trim();
    const r = await call("POST", "/register", body, false);
    $("reg-password").value = "";
    if (r.status === 201) setToken(r.data.access_token);
  });

  $("btn-me").addEventListener("click", () => call("GET", "/me", undefined, true));

  $("btn-refresh").addEventListener("click", async () => {
    const r = await call("POST", "/refresh", undefined, false);
    if (r.status === 200) setToken(r.data.access_token);
    else if (r.status === 401) setToken(null);
  });

  $("btn-logout").addEventListener("click", async () => {
    await call("POST", "/logout", undefined, false);
    setToken(null);
  });

  $("btn-logout-all").addEventListener("click", async () => {
    const r = await call("POST", "/logout-all", undefined, true);
    if (r.status === 204) setToken(null);
  });

  $("btn-jwks").addEventListener("click", () =>
    call("GET", "/.well-known/jwks.json", undefined, false)
  );
})();
