// Who the page speaks for. With authentication on: an access token (from the URL fragment or the
// sign-in box), kept in sessionStorage, sent in the Authorization header, or as access_token= where
// a browser allows no header (WebSocket). With it off: a local user id kept in localStorage.

const TOKEN_KEY = 'chat.v1.token';
const USER_KEY = 'chat.v1.user';

function randomId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

function read(storage, key) {
  try {
    return storage.getItem(key);
  } catch (e) {
    return null;
  }
}

function write(storage, key, value) {
  try {
    if (value === null) {
      storage.removeItem(key);
    } else {
      storage.setItem(key, value);
    }
  } catch (e) {
    // Storage off or full: the value lives as long as the page.
  }
}

/** The claims of a JWT, or null. The server checks the signature; the page only reads `sub` and `exp`. */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part), c => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch (e) {
    return null;
  }
}

export class Identity {
  constructor() {
    this.token = read(sessionStorage, TOKEN_KEY);
    let user = read(localStorage, USER_KEY);
    if (!user || !/^[A-Za-z0-9_.@:-]{1,128}$/.test(user)) {
      user = randomId('u-');
      write(localStorage, USER_KEY, user);
    }
    this.localUser = user;
    this.takeTokenFromFragment();
  }

  /** A token in the URL fragment (`#access_token=…`) is taken, then removed from the address bar. */
  takeTokenFromFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get('access_token');
    if (!token) {
      return false;
    }
    this.setToken(token);
    fragment.delete('access_token');
    const rest = fragment.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    return true;
  }

  setToken(token) {
    this.token = token || null;
    write(sessionStorage, TOKEN_KEY, this.token);
  }

  /** Milliseconds since the epoch at which the token expires, or null. */
  get expiresAt() {
    const claims = this.token && claimsOf(this.token);
    return claims && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  }

  /** The user the page speaks for: the token's subject, else the local id. */
  get user() {
    const claims = this.token && claimsOf(this.token);
    return claims && typeof claims.sub === 'string' ? claims.sub : this.localUser;
  }

  /** Query parameters that say who is calling, for URLs a browser cannot add headers to. */
  queryParams() {
    return this.token ? {access_token: this.token} : {user_id: this.localUser};
  }

  headers() {
    return this.token ? {authorization: 'Bearer ' + this.token} : {};
  }
}

export {randomId};
