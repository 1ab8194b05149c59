// The socket of one conversation: opens with the conversation's cursor, reconnects with
// exponential backoff and full jitter, and notices a dead network with heartbeats.

const BACKOFF_BASE_MS = 300;
const BACKOFF_CAP_MS = 15000;
const HEARTBEAT_EVERY_MS = 20000;
const HEARTBEAT_GRACE_MS = 10000;
const SERVICE_RESTART = 1012;
const POLICY_VIOLATION = 1008;

export class ChatSocket {
  /**
   * @param {object} options
   *   url(): the URL to open now (it carries the cursor and the credentials of the moment);
   *   onFrame(frame), onState(state, detail), onClose(code), onAuthRefused(), closedForGood()
   */
  constructor(options) {
    this.options = options;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.heartbeatDeadline = null;
    this.stopped = false;
    this.onOnline = () => {
      if (!this.open) {
        this.reconnectNow();
      }
    };
    window.addEventListener('online', this.onOnline);
  }

  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) {
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.options.onState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket;
    try {
      socket = new WebSocket(this.options.url());
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) {
        return;
      }
      this.options.onState('connected');
      this.startHeartbeat();
    };
    socket.onmessage = message => {
      if (socket !== this.socket) {
        return;
      }
      // Backoff starts over only once the server has spoken: a socket closed right after it opens
      // (a frame refused as too large, say) must not be retried in a tight loop.
      this.attempt = 0;
      this.heartbeatSeen();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      this.options.onFrame(frame);
    };
    socket.onclose = event => {
      if (socket !== this.socket) {
        return;
      }
      this.socket = null;
      this.stopHeartbeat();
      if (this.stopped) {
        return;
      }
      if (this.options.onClose) {
        this.options.onClose(event.code);
      }
      if (event.code === POLICY_VIOLATION && this.options.onAuthRefused()) {
        this.options.onState('signed-out');
        return;
      }
      if (event.code === 1000 && this.options.closedForGood && this.options.closedForGood()) {
        this.options.onState('closed');
        return;
      }
      if (event.code === SERVICE_RESTART) {
        // The server is restarting and asks for an immediate reconnect; another node takes over.
        this.attempt = 0;
        this.scheduleRetry(Math.random() * BACKOFF_BASE_MS);
        return;
      }
      this.scheduleRetry();
    };
  }

  scheduleRetry(delayMs) {
    const delay = delayMs !== undefined ? delayMs
      : Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt++;
    const at = Date.now() + delay;
    this.options.onState(navigator.onLine === false ? 'offline' : 'reconnecting', {at});
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Drops the current socket (if any) and connects again at once, e.g. with new credentials. */
  reconnectNow() {
    if (this.stopped) {
      return;
    }
    const socket = this.socket;
    this.socket = null;
    this.stopHeartbeat();
    if (socket) {
      socket.close(1000, 'reconnecting');
    }
    this.attempt = 0;
    this.connect();
  }

  send(frame) {
    if (!this.open) {
      return false;
    }
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    window.removeEventListener('online', this.onOnline);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, 'conversation closed');
    }
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (!this.open) {
        return;
      }
      this.socket.send('{"type":"heartbeat"}');
      if (this.heartbeatDeadline === null) {
        this.heartbeatDeadline = setTimeout(() => {
          // No frame at all for a while after a heartbeat: the network is gone without a close.
          this.heartbeatDeadline = null;
          this.reconnectNow();
        }, HEARTBEAT_GRACE_MS);
      }
    }, HEARTBEAT_EVERY_MS);
  }

  heartbeatSeen() {
    if (this.heartbeatDeadline !== null) {
      clearTimeout(this.heartbeatDeadline);
      this.heartbeatDeadline = null;
    }
  }

  stopHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.heartbeatSeen();
  }
}
