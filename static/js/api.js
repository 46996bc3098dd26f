// JSON over fetch: the pages' one way to talk to Django's game API.

/** A refused or failed request, with the contract's error code and its human reason. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  /** A 4xx answer: asking again will not help. */
  get refused() {
    return this.status >= 400 && this.status < 500;
  }
}

async function request(url, options) {
  let response;
  try {
    response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", ...options.headers },
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      payload?.error ?? `http_${response.status}`,
      payload?.detail ?? `The server answered ${response.status} ${response.statusText}.`,
    );
  }
  return payload;
}

export function getJSON(url) {
  return request(url, { method: "GET", cache: "no-store" });
}

export function postJSON(url, body, csrfToken) {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body ?? {}),
  });
}
