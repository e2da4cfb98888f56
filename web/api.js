// The brain's HTTP API as the page uses it: the same routes and the same authorization as
// any agent (docs/brain.md). The token travels only in the Authorization header; no
// cookie exists, so no other site can make this browser act with it.

export class ApiError extends Error {
  // status 0: the server could not be reached (no answer at all).
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// A path segment (a lock name like "push:web", an id).
export function segment(value) {
  return encodeURIComponent(String(value));
}

// {a: 1, b: undefined} -> "?a=1"
export function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

// Random hex from the browser's CSPRNG (crypto.randomUUID needs a secure context; a
// server on a LAN address over plain HTTP is not one).
export function randomHex(bytes = 16) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}

// -> {get(path), post(path, body), headers(extra)}. onUnauthorized(message) runs on any
// 401: the token was revoked or expired while the page was open.
export function createApi(token, { onUnauthorized }) {
  const headers = (extra = {}) => ({ Authorization: `Bearer ${token}`, ...extra });

  async function call(method, path, body) {
    const init = {
      method,
      headers: headers({ Accept: 'application/json' }),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(0, 'the server cannot be reached', null);
    }
    const text = await res.text().catch(() => '');
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    const message = (data && typeof data.error === 'string') ? data.error : `HTTP ${res.status}`;
    if (res.status === 401) onUnauthorized(message);
    if (!res.ok) throw new ApiError(res.status, message, data);
    return data;
  }

  return {
    get: (path) => call('GET', path),
    post: (path, body = {}) => call('POST', path, body),
    headers,
  };
}
