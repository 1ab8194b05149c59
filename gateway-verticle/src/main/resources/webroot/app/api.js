// The HTTP API of the conversations list. Failures become ApiError with the protocol's code.

export class ApiError extends Error {
  constructor(status, code, message, retryAfterMs) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export class Api {
  constructor(identity) {
    this.identity = identity;
  }

  async call(method, path, body) {
    const url = new URL(path, location.origin);
    if (!this.identity.token) {
      url.searchParams.set('user_id', this.identity.localUser);
    }
    const headers = {...this.identity.headers()};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store'});
    } catch (e) {
      throw new ApiError(0, 'unavailable', 'The server cannot be reached.');
    }
    if (response.status === 204) {
      return null;
    }
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      // Not JSON: a proxy's error page, say.
    }
    if (!response.ok) {
      const error = (json && json.error) || {};
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new ApiError(response.status, error.code || 'internal', error.message || `HTTP ${response.status}`,
        Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
    }
    return json;
  }

  conversations() {
    return this.call('GET', '/api/sessions?limit=200');
  }

  rename(sessionId, title) {
    return this.call('PATCH', '/api/sessions/' + encodeURIComponent(sessionId), {title});
  }

  remove(sessionId) {
    return this.call('DELETE', '/api/sessions/' + encodeURIComponent(sessionId));
  }
}
