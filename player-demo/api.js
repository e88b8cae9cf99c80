// The library pages' calls to the Cinelock API with an API key (what a customer backend does
// with its own key): JSON in and out, and errors that carry the server's code and its readable
// message, so the page can show both.
const endpoint = location.origin;

/** Calls `method path` with the key; resolves to the JSON answer, or throws `{code, message, status}`. */
export async function api(apiKey, method, path, body) {
  let res;
  try {
    res = await fetch(`${endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw Object.assign(new Error(`the server could not be reached (${e.message})`), { code: "network" });
  }
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const message = json?.error?.message ?? `HTTP ${res.status} ${res.statusText}`;
    throw Object.assign(new Error(message), { code: json?.error?.code ?? `http_${res.status}`, status: res.status });
  }
  return json;
}

/** What a user is shown of an error: its code and its message. */
export const readable = (e) => `${e.code ?? e.name}: ${e.message}`;

/**
 * A short-lived viewer token for the key's own asset. The owner's view should show posters of
 * password-protected assets too, so it asks to skip the password (which needs uploads:write);
 * a read-only key gets a plain token instead.
 */
export async function ownerToken(apiKey, assetId, ttl = 300) {
  const path = `/v1/assets/${encodeURIComponent(assetId)}/viewer-tokens`;
  try {
    return (await api(apiKey, "POST", path, { ttl, skip_password: true })).token;
  } catch (e) {
    if (e.code !== "forbidden") throw e;
    return (await api(apiKey, "POST", path, { ttl })).token;
  }
}
