// The chat page: the conversation list, the thread of the open conversation, and the composer.
// Every event is applied by the protocol's client rule (conversation.js); this file only wires
// the page to it.
import {Conversation} from './conversation.js';
import {ChatSocket} from './connection.js';
import {renderMarkdown, copyButton, announceWith} from './markdown.js';
import {Identity, randomId} from './identity.js';
import {Api} from './api.js';

const $ = id => document.getElementById(id);
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SAVE_AFTER_MS = 300;
const LIST_REFRESH_MS = 30000;
const RENEW_BEFORE_MS = 60000;
const STICK_DISTANCE_PX = 48;
const LAST_SESSION_KEY = 'chat.v1.last';
const THEME_KEY = 'chat.v1.theme';
const THEMES = ['system', 'light', 'dark'];
// The server refuses a frame over 64 KiB by closing the socket (1009); the page refuses it first.
const MAX_FRAME_BYTES = 60 * 1024;
const MESSAGE_TOO_BIG = 1009;
const phoneLayout = window.matchMedia('(max-width: 760px)');
// A conversation whose first message was blank has an empty title until renamed.
const shownTitle = entry => entry.title || 'New chat';
const touchKeyboard = window.matchMedia('(pointer: coarse)');

const STATE_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: waiting for the network',
  'signed-out': 'Signed out',
  closed: 'Closed',
};

const STATUS_TEXT = {
  cancelled: 'Stopped.',
  interrupted: 'Interrupted: the answer was cut off.',
  failed: 'The AI provider failed.',
};

/** Snapshots of conversations, per tab: what a reload redraws at once and resumes from. */
const snapshots = {
  key: id => 'chat.v1.c.' + id,

  load(id) {
    try {
      return JSON.parse(sessionStorage.getItem(this.key(id)));
    } catch (e) {
      return null;
    }
  },

  save(conversation) {
    if (!conversation.hasCursor) {
      return;
    }
    const value = JSON.stringify(conversation.snapshot());
    try {
      sessionStorage.setItem(this.key(conversation.sessionId), value);
    } catch (e) {
      // Full: keep only this conversation's snapshot; without one, a reload takes a fresh history.
      this.dropAllBut(conversation.sessionId);
      try {
        sessionStorage.setItem(this.key(conversation.sessionId), value);
      } catch (again) {
        this.drop(conversation.sessionId);
      }
    }
  },

  drop(id) {
    try {
      sessionStorage.removeItem(this.key(id));
    } catch (e) {
      // Storage off: nothing kept.
    }
  },

  dropAllBut(id) {
    try {
      for (const key of Object.keys(sessionStorage)) {
        if (key.startsWith('chat.v1.c.') && key !== this.key(id)) {
          sessionStorage.removeItem(key);
        }
      }
    } catch (e) {
      // Storage off: nothing kept.
    }
  },
};

/** The message on its way in each conversation, per tab: a reload sends it again (once, by its id). */
const outbox = {
  key: id => 'chat.v1.out.' + id,

  load(id) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.key(id)));
      return saved && saved.frame && typeof saved.content === 'string' ? saved : null;
    } catch (e) {
      return null;
    }
  },

  save(id, pending) {
    try {
      if (pending) {
        sessionStorage.setItem(this.key(id), JSON.stringify(pending));
      } else {
        sessionStorage.removeItem(this.key(id));
      }
    } catch (e) {
      // Storage off or full: the message lives as long as the page.
    }
  },
};

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (e) {
    // Storage off: forgotten with the page.
  }
}

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch (e) {
    return null;
  }
}

function icon(path) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const shape = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  shape.setAttribute('d', path);
  svg.appendChild(shape);
  return svg;
}

const ICON_RENAME = 'M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4';
const ICON_DELETE = 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13';

function button(text, className, onClick, label) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.textContent = text;
  if (label) {
    element.setAttribute('aria-label', label);
  }
  element.addEventListener('click', onClick);
  return element;
}

class ChatApp {
  constructor() {
    this.identity = new Identity();
    this.api = new Api(this.identity);
    this.conversation = null;
    this.socket = null;
    this.pending = null;
    /** The question last taken, until a history holds it: {sessionId, pending, createdAt}. */
    this.unconfirmed = null;
    this.items = new Map();
    this.renderQueued = false;
    this.saveTimer = null;
    this.stickToBottom = true;
    this.conversations = [];
    this.listTimer = null;
    this.renewTimer = null;
    this.deleted = false;
    this.deletedHere = new Set();
    this.drafts = new Map();
    this.diagnosed = false;
    this.countdown = null;
    this.channel = 'BroadcastChannel' in window ? new BroadcastChannel('chat.v1') : null;
  }

  start() {
    this.bindComposer();
    this.bindSidebar();
    this.bindDialogs();
    this.bindTheme();
    $('thread').addEventListener('scroll', () => this.onScroll(), {passive: true});
    $('jump').addEventListener('click', () => this.scrollToLatest());
    $('notice-close').addEventListener('click', () => this.hideNotice());
    announceWith(text => this.announce(text));
    window.addEventListener('pagehide', () => this.saveNow());
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) {
        this.saveNow();
      } else {
        this.scheduleRender();
        this.refreshList();
      }
    });
    window.addEventListener('hashchange', () => {
      if (this.identity.takeTokenFromFragment()) {
        this.tokenChanged();
      }
    });
    if (this.channel) {
      this.channel.onmessage = event => this.onBroadcast(event.data);
    }
    // For a page that embeds the app and renews tokens itself.
    window.chat = {setAccessToken: token => {
      this.identity.setToken(token);
      this.tokenChanged();
    }};
    this.showWho();
    this.open(this.initialSessionId());
    this.refreshList();
    setInterval(() => {
      if (!document.hidden) {
        this.refreshList();
      }
    }, LIST_REFRESH_MS);
    this.scheduleRenewal(this.identity.expiresAt);
  }

  initialSessionId() {
    const fromUrl = new URLSearchParams(location.search).get('session_id');
    if (fromUrl && SESSION_ID.test(fromUrl)) {
      return fromUrl;
    }
    const last = recall(LAST_SESSION_KEY);
    return last && SESSION_ID.test(last) ? last : randomId('c-');
  }

  // ---- the open conversation ----

  open(sessionId) {
    if (this.conversation && this.conversation.sessionId === sessionId && this.socket) {
      return;
    }
    this.saveNow();
    if (this.socket) {
      this.socket.close();
    }
    const input = $('input');
    if (this.conversation) {
      // What was typed belongs to the conversation it was typed in; so does a message on its way.
      this.drafts.set(this.conversation.sessionId, input.value);
    }
    input.value = this.drafts.get(sessionId) || '';
    this.fitInput();
    this.deleted = false;
    this.diagnosed = false;
    this.hideNotice();
    this.conversation = Conversation.restore(sessionId, snapshots.load(sessionId)) || new Conversation(sessionId);
    this.pending = outbox.load(sessionId);
    if (this.pending && this.conversation.hasClientMessage(this.pending.frame.client_message_id)) {
      this.setPending(null);
    }
    remember(LAST_SESSION_KEY, sessionId);
    const url = new URL(location.href);
    url.searchParams.set('session_id', sessionId);
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    $('messages').replaceChildren();
    this.items.clear();
    this.stickToBottom = true;
    this.render();
    this.renderList();
    this.socket = new ChatSocket({
      url: () => this.socketUrl(),
      onFrame: frame => this.onFrame(frame),
      onState: (state, detail) => this.onConnectionState(state, detail),
      onClose: code => {
        if (code === MESSAGE_TOO_BIG && this.pending) {
          this.giveBack();
          this.showNotice('That message is too large to send. Shorten it and send again.');
        }
      },
      onAuthRefused: () => {
        this.showSignIn('Your sign-in has ended. Sign in again to go on.');
        return true;
      },
      closedForGood: () => this.deleted,
    });
    this.socket.connect();
  }

  socketUrl() {
    const params = new URLSearchParams({session_id: this.conversation.sessionId, ...this.identity.queryParams()});
    if (this.conversation.hasCursor) {
      params.set('last_seq', String(this.conversation.seq));
      params.set('epoch', this.conversation.epoch);
    }
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/chat?' + params;
  }

  onConnectionState(state, detail) {
    $('connection').dataset.state = state;
    clearInterval(this.countdown);
    this.countdown = null;
    $('connection-text').textContent = STATE_TEXT[state] || state;
    if (state === 'reconnecting' && detail && detail.at) {
      const show = () => {
        const seconds = Math.round((detail.at - Date.now()) / 1000);
        $('connection-text').textContent = seconds >= 1 ? `Reconnecting in ${seconds} s…` : 'Reconnecting…';
      };
      show();
      this.countdown = setInterval(show, 1000);
      if (this.socket && this.socket.attempt >= 3 && !this.diagnosed) {
        this.diagnosed = true;
        this.diagnose();
      }
    }
    if (state === 'connected') {
      this.diagnosed = false;
    }
    this.scheduleRender();
    if (state === 'connected' && this.pending) {
      // Sent again with the same client_message_id: the server appends it at most once.
      this.socket.send(this.pending.frame);
    }
  }

  /** A socket that keeps failing to open: the HTTP API says why (browsers hide the refusal's status). */
  async diagnose() {
    const sessionId = this.conversation.sessionId;
    try {
      await this.api.call('GET', '/api/history/' + encodeURIComponent(sessionId));
    } catch (error) {
      if (sessionId !== this.conversation.sessionId) {
        return;
      }
      if (error.status === 401) {
        this.showSignIn('This server needs you to sign in.');
      } else if (error.status === 403) {
        this.showNotice('That conversation belongs to someone else. A new one was opened.');
        this.open(randomId('c-'));
      }
    }
  }

  onFrame(frame) {
    const conversation = this.conversation;
    switch (frame.type) {
      case 'history':
        conversation.applyHistory(frame);
        if (this.pending && conversation.hasClientMessage(this.pending.frame.client_message_id)) {
          // Taken before the connection dropped; the history that followed a reset holds it.
          this.messageTaken();
        }
        this.confirmOrResend();
        this.rebuild();
        this.saveSoon();
        break;
      case 'user_message':
      case 'stream_start':
      case 'chunk':
      case 'complete':
        this.applyEvent(frame);
        break;
      case 'auth_ack':
        this.scheduleRenewal(Date.parse(frame.expires_at));
        break;
      case 'error':
        this.onServerError(frame);
        break;
      default:
        // recovery_status (its events or a history follow), cancel_ack (the complete follows), acks.
        break;
    }
  }

  applyEvent(event) {
    let applied;
    try {
      applied = this.conversation.applyEvent(event);
    } catch (e) {
      // Cannot follow what is held (should never happen): start over from a fresh snapshot.
      this.resync();
      return;
    }
    if (!applied) {
      return;
    }
    if (event.type === 'user_message' && this.pending && event.client_message_id === this.pending.frame.client_message_id) {
      this.unconfirmed = {sessionId: this.conversation.sessionId, pending: this.pending, createdAt: event.created_at};
      this.messageTaken();
    }
    if (event.type === 'complete') {
      this.announce(event.status === 'completed' ? 'Answer complete.' : STATUS_TEXT[event.status] || '');
    }
    if (event.type !== 'chunk') {
      this.refreshListSoon();
      this.broadcast({type: 'changed'});
    }
    this.scheduleRender();
    this.saveSoon();
  }

  messageTaken() {
    this.setPending(null);
    this.hideNotice();
  }

  /**
   * A question shown live may be missing from a later history: a node that lost the session to
   * another (a network split, a long pause) showed its user_message but could not store it. It is
   * sent again with the same client_message_id, unless the conversation has moved on since.
   */
  confirmOrResend() {
    const taken = this.unconfirmed;
    if (!taken) {
      return;
    }
    this.unconfirmed = null;
    const conversation = this.conversation;
    if (taken.sessionId !== conversation.sessionId || conversation.hasClientMessage(taken.pending.frame.client_message_id)
        || this.pending || conversation.hasMessageSince(taken.createdAt)) {
      return;
    }
    this.setPending(taken.pending);
    this.socket.send(taken.pending.frame);
  }

  setPending(pending) {
    this.pending = pending;
    outbox.save(this.conversation.sessionId, pending);
  }

  /** A refused message goes back into the input, before anything typed since. */
  giveBack() {
    const input = $('input');
    input.value = this.pending.content + (input.value ? '\n' + input.value : '');
    this.fitInput();
    this.setPending(null);
    this.render();
  }

  resync() {
    snapshots.drop(this.conversation.sessionId);
    this.conversation.dropCursor();
    this.socket.reconnectNow();
  }

  onServerError(frame) {
    // Only a refused message gives the input back; a refused regenerate or continue leaves a
    // message still on its way alone.
    const refusedMessage = frame.ref === 'message' && this.pending !== null;
    const kept = refusedMessage ? '; your message is back in the box.' : '.';
    if (refusedMessage) {
      this.giveBack();
    }
    switch (frame.code) {
      case 'busy':
        this.showNotice('An answer is still being written. Wait for it or press Stop' + kept);
        break;
      case 'rate_limited': {
        const seconds = Math.max(1, Math.ceil((frame.retry_after_ms || 1000) / 1000));
        this.showNotice(`You are sending too fast. Try again in ${seconds} s` + kept);
        break;
      }
      case 'too_large':
        this.showNotice('That message is too long for this server. Shorten it and send again.');
        break;
      case 'not_found':
        if (!frame.ref) {
          this.conversationGone();
        } else {
          this.showNotice(frame.ref === 'continue' ? 'That answer cannot be found.' : 'There is nothing to do that to yet.');
        }
        break;
      case 'unavailable':
        this.showNotice('The service is briefly unavailable. Try again in a moment' + kept);
        break;
      case 'unauthorized':
        this.showSignIn('Your sign-in was refused. Sign in again to go on.');
        break;
      default:
        this.showNotice(frame.message || 'Something went wrong.');
    }
  }

  conversationGone() {
    const sessionId = this.conversation.sessionId;
    this.deleted = true;
    snapshots.drop(sessionId);
    outbox.save(sessionId, null);
    this.conversations = this.conversations.filter(c => c.session_id !== sessionId);
    this.open(randomId('c-'));
    if (!this.deletedHere.has(sessionId)) {
      this.showNotice('That conversation was deleted.');
    }
    this.refreshList();
  }

  // ---- sending ----

  bindComposer() {
    const input = $('input');
    $('composer').addEventListener('submit', event => {
      event.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', event => {
      // On a touch keyboard Enter starts a new line, as people expect there; the Send button sends.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touchKeyboard.matches) {
        event.preventDefault();
        this.send();
      }
    });
    input.addEventListener('input', () => this.fitInput());
    $('stop').addEventListener('click', () => this.stop());
  }

  fitInput() {
    const input = $('input');
    input.style.height = 'auto';
    input.style.height = input.scrollHeight + 'px';
  }

  send() {
    const content = $('input').value;
    if (!content.trim() || this.pending) {
      return;
    }
    if (this.conversation.streaming()) {
      this.showNotice('An answer is still being written. Wait for it or press Stop; your message is kept.');
      return;
    }
    const frame = {type: 'message', content, client_message_id: randomId('m-')};
    if (new TextEncoder().encode(JSON.stringify(frame)).length > MAX_FRAME_BYTES) {
      this.showNotice('That message is too long to send. Shorten it and send again.');
      return;
    }
    this.setPending({content, frame});
    $('input').value = '';
    this.fitInput();
    this.stickToBottom = true;
    if (!this.socket.send(this.pending.frame)) {
      this.showNotice('Not connected yet: your message goes out as soon as the connection is back.');
    }
    this.render();
  }

  stop() {
    const streaming = this.conversation.streaming();
    if (streaming) {
      this.sendOrSay({type: 'cancel', message_id: streaming.message_id});
    }
  }

  regenerate() {
    this.stickToBottom = true;
    this.sendOrSay({type: 'regenerate', client_message_id: randomId('r-')});
  }

  continueAnswer(messageId) {
    this.stickToBottom = true;
    this.sendOrSay({type: 'continue', message_id: messageId});
  }

  sendOrSay(frame) {
    if (!this.socket.send(frame)) {
      this.showNotice('Not connected right now. Try again when the connection is back.');
    }
  }

  // ---- the thread ----

  scheduleRender() {
    if (this.renderQueued) {
      return;
    }
    this.renderQueued = true;
    const run = () => {
      this.renderQueued = false;
      this.render();
    };
    // Animation frames do not run in a hidden tab; it still keeps up, less often.
    if (document.hidden) {
      setTimeout(run, 200);
    } else {
      requestAnimationFrame(run);
    }
  }

  rebuild() {
    $('messages').replaceChildren();
    this.items.clear();
    this.render();
  }

  render() {
    const conversation = this.conversation;
    const items = conversation.items();
    const latest = conversation.latestAnswer(items);
    const streaming = conversation.streaming();
    const list = $('messages');
    const seen = new Set();
    let cursor = list.firstChild;
    for (const item of items) {
      seen.add(item.key);
      let entry = this.items.get(item.key);
      if (!entry) {
        entry = {element: this.createItem(item), rev: null, state: null};
        this.items.set(item.key, entry);
      }
      if (entry.rev !== item.rev) {
        this.fillItem(entry.element, item);
        entry.rev = item.rev;
      }
      const state = `${item === latest}|${streaming ? 1 : 0}|${item.kind === 'answer' ? item.last.status : ''}`;
      if (entry.state !== state) {
        this.fillActions(entry.element, item, item === latest, streaming);
        entry.state = state;
      }
      if (entry.element === cursor) {
        cursor = cursor.nextSibling;
      } else {
        list.insertBefore(entry.element, cursor);
      }
    }
    for (const [key, entry] of this.items) {
      if (!seen.has(key)) {
        entry.element.remove();
        this.items.delete(key);
      }
    }
    this.showPending(list);
    $('empty').hidden = items.length > 0;
    // Tokens are not read out one by one: the thread is quiet while an answer streams, and its end is announced.
    $('thread').setAttribute('aria-busy', streaming ? 'true' : 'false');
    $('thread').setAttribute('aria-live', streaming ? 'off' : 'polite');
    if (!streaming && document.activeElement === $('stop')) {
      $('input').focus();
    }
    $('stop').hidden = !streaming;
    $('send').hidden = Boolean(streaming);
    $('send').disabled = this.pending !== null;
    this.showTitle();
    this.markStreamingInList(streaming !== null);
    if (this.stickToBottom) {
      this.scrollToLatest();
    } else {
      $('jump').hidden = false;
    }
  }

  /** The message on its way, drawn after the thread until the server's echo takes its place. */
  showPending(list) {
    let element = $('pending-message');
    if (!this.pending) {
      if (element) {
        element.remove();
      }
      return;
    }
    if (!element) {
      element = this.createItem({kind: 'user'});
      element.id = 'pending-message';
      element.classList.add('pending');
    }
    element.querySelector('.body').textContent = this.pending.content;
    const status = element.querySelector('.answer-status');
    status.textContent = this.socket && this.socket.open ? 'Sending…' : 'Waiting for the connection to send…';
    status.hidden = false;
    list.appendChild(element);
  }

  createItem(item) {
    const element = document.createElement('li');
    element.className = 'message ' + (item.kind === 'user' ? 'user' : 'assistant');
    const speaker = document.createElement('p');
    speaker.className = 'visually-hidden';
    speaker.textContent = item.kind === 'user' ? 'You said:' : 'Assistant:';
    const body = document.createElement('div');
    body.className = item.kind === 'user' ? 'body text' : 'body markdown';
    const status = document.createElement('p');
    status.className = 'answer-status';
    const actions = document.createElement('div');
    actions.className = 'actions';
    element.append(speaker, body, status, actions);
    return element;
  }

  fillItem(element, item) {
    const body = element.querySelector('.body');
    if (item.kind === 'user') {
      element.dataset.messageId = item.message.message_id;
      body.textContent = item.message.content;
      return;
    }
    const last = item.last;
    element.dataset.messageId = item.chain[0].message_id;
    element.dataset.chain = item.chain.map(m => m.message_id).join(' ');
    element.dataset.status = last.status;
    element.classList.toggle('streaming', last.status === 'streaming');
    element.classList.toggle('replaced', item.replaced);
    element.classList.toggle('has-error', last.status === 'failed' || last.status === 'interrupted');
    renderMarkdown(body, item.content);
    const status = element.querySelector('.answer-status');
    let text = '';
    if (item.replaced) {
      text = 'An earlier answer, replaced by a regenerated one.';
    } else if (STATUS_TEXT[last.status]) {
      text = STATUS_TEXT[last.status];
      if (last.error && last.error.message && last.status !== 'cancelled') {
        text += ' ' + last.error.message;
      }
    } else if (last.status === 'completed' && this.conversation.finishReasons[last.message_id] === 'length') {
      text = 'Cut at the length limit.';
    }
    status.textContent = text;
    status.hidden = text === '';
  }

  fillActions(element, item, isLatest, streaming) {
    const actions = element.querySelector('.actions');
    const focused = actions.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
    const buttons = [];
    const say = text => this.announce(text);
    if (item.kind === 'user') {
      buttons.push(copyButton(() => item.message.content, 'Copy your message', say));
    } else if (item.last.status !== 'streaming') {
      buttons.push(copyButton(() => this.answerText(element), 'Copy the answer', say));
      if (isLatest && !streaming) {
        if (this.conversation.canContinue(item.last)) {
          buttons.push(button('Continue', 'button small', () => this.continueAnswer(item.last.message_id),
            'Continue the answer'));
        }
        buttons.push(button('Regenerate', 'button small quiet', () => this.regenerate(), 'Regenerate the answer'));
      }
    }
    actions.replaceChildren(...buttons);
    if (focused) {
      // The focused button was redrawn: focus its successor, or the input when it is gone.
      const again = buttons.find(b => b.getAttribute('aria-label') === focused);
      (again || $('input')).focus();
    }
  }

  answerText(element) {
    const ids = (element.dataset.chain || '').split(' ');
    return ids.map(id => (this.conversation.byId.get(id) || {content: ''}).content).join('');
  }

  onScroll() {
    const thread = $('thread');
    this.stickToBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < STICK_DISTANCE_PX;
    $('jump').hidden = this.stickToBottom;
  }

  scrollToLatest() {
    const thread = $('thread');
    thread.scrollTop = thread.scrollHeight;
    this.stickToBottom = true;
    $('jump').hidden = true;
  }

  showTitle() {
    const entry = this.conversations.find(c => c.session_id === this.conversation.sessionId);
    const first = this.conversation.messages.find(m => m.role === 'user');
    const title = (entry ? entry.title : first ? first.content.trim().split('\n')[0].trim().slice(0, 80) : '') || 'New chat';
    if ($('conversation-title').textContent !== title) {
      $('conversation-title').textContent = title;
      document.title = title === 'New chat' ? 'Chat' : title + ' · Chat';
    }
  }

  announce(text) {
    // Emptied first, so the same words said twice are read twice.
    const announcer = $('announcer');
    announcer.textContent = '';
    setTimeout(() => { announcer.textContent = text; }, 50);
  }

  showNotice(text, action) {
    $('notice-text').textContent = text;
    const existing = $('notice').querySelector('.notice-action');
    if (existing) {
      existing.remove();
    }
    if (action) {
      $('notice-close').before(button(action.label, 'button small notice-action', action.run));
    }
    $('notice').hidden = false;
  }

  hideNotice() {
    $('notice').hidden = true;
  }

  saveSoon() {
    if (this.saveTimer === null) {
      this.saveTimer = setTimeout(() => this.saveNow(), SAVE_AFTER_MS);
    }
  }

  saveNow() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.conversation && !this.deleted) {
      snapshots.save(this.conversation);
    }
  }

  // ---- the conversation list ----

  bindSidebar() {
    $('new-chat').addEventListener('click', () => {
      this.open(randomId('c-'));
      this.closeSidebar();
      $('input').focus();
    });
    $('open-sidebar').addEventListener('click', () => this.openSidebar());
    $('close-sidebar').addEventListener('click', () => this.closeSidebar());
    $('scrim').addEventListener('click', () => this.closeSidebar());
    phoneLayout.addEventListener('change', () => this.syncSidebarInertness());
    this.syncSidebarInertness();
    document.addEventListener('keydown', event => {
      if (event.key === 'Escape' && $('app').classList.contains('sidebar-open')) {
        this.closeSidebar();
      }
    });
  }

  openSidebar() {
    $('app').classList.add('sidebar-open');
    $('scrim').hidden = false;
    $('open-sidebar').setAttribute('aria-expanded', 'true');
    this.syncSidebarInertness();
    $('new-chat').focus();
  }

  /** On a phone the list slides over the page: whichever of the two is not shown takes no focus. */
  syncSidebarInertness() {
    const open = $('app').classList.contains('sidebar-open');
    $('sidebar').inert = phoneLayout.matches && !open;
    $('main').inert = phoneLayout.matches && open;
  }

  closeSidebar() {
    if (!$('app').classList.contains('sidebar-open')) {
      return;
    }
    $('app').classList.remove('sidebar-open');
    $('scrim').hidden = true;
    $('open-sidebar').setAttribute('aria-expanded', 'false');
    this.syncSidebarInertness();
    if (phoneLayout.matches) {
      $('open-sidebar').focus();
    }
  }

  refreshListSoon() {
    clearTimeout(this.listTimer);
    this.listTimer = setTimeout(() => this.refreshList(), 250);
  }

  async refreshList() {
    const note = $('list-note');
    try {
      const reply = await this.api.conversations();
      this.conversations = reply.sessions || [];
      note.hidden = true;
    } catch (error) {
      if (error.status === 401) {
        this.showSignIn('This server needs you to sign in.');
        return;
      }
      note.textContent = error.status === 503
        ? 'Saved conversations are not available on this server.'
        : 'The conversation list cannot be loaded right now.';
      note.hidden = false;
    }
    this.renderList();
    this.showTitle();
  }

  renderList() {
    const list = $('conversation-list');
    const current = this.conversation ? this.conversation.sessionId : null;
    const entries = [...this.conversations];
    if (current && !entries.some(c => c.session_id === current)) {
      entries.unshift({session_id: current, title: 'New chat', streaming: false, unsaved: true});
    }
    // Updated in place, not redrawn: a refresh must not take the focus from a button in the list.
    const existing = new Map([...list.children].map(item => [item.dataset.sessionId, item]));
    let cursor = list.firstChild;
    for (const entry of entries) {
      let item = existing.get(entry.session_id);
      existing.delete(entry.session_id);
      if (!item) {
        item = this.createListItem(entry.session_id);
      }
      this.fillListItem(item, entry, entry.session_id === current);
      if (item === cursor) {
        cursor = cursor.nextSibling;
      } else {
        list.insertBefore(item, cursor);
      }
    }
    existing.forEach(item => item.remove());
  }

  entryOf(sessionId) {
    return this.conversations.find(c => c.session_id === sessionId);
  }

  createListItem(sessionId) {
    const item = document.createElement('li');
    item.dataset.sessionId = sessionId;
    const open = button('', 'conversation-open', () => {
      this.open(sessionId);
      this.closeSidebar();
    });
    const title = document.createElement('span');
    title.className = 'conversation-title';
    const badge = document.createElement('span');
    badge.className = 'streaming-badge';
    badge.textContent = 'answering';
    open.append(title, badge);
    const rename = button('', 'icon-button rename', () => {
      const entry = this.entryOf(sessionId);
      if (entry) {
        this.askRename(entry);
      }
    });
    rename.appendChild(icon(ICON_RENAME));
    const remove = button('', 'icon-button delete', () => {
      const entry = this.entryOf(sessionId);
      if (entry) {
        this.askDelete(entry);
      }
    });
    remove.appendChild(icon(ICON_DELETE));
    item.append(open, rename, remove);
    return item;
  }

  fillListItem(item, entry, active) {
    item.className = 'conversation' + (active ? ' active' : '');
    const open = item.querySelector('.conversation-open');
    if (active) {
      open.setAttribute('aria-current', 'page');
    } else {
      open.removeAttribute('aria-current');
    }
    item.querySelector('.conversation-title').textContent = shownTitle(entry);
    const streaming = active ? this.conversation.streaming() !== null : entry.streaming;
    item.querySelector('.streaming-badge').hidden = !streaming;
    const rename = item.querySelector('.rename');
    const remove = item.querySelector('.delete');
    rename.hidden = remove.hidden = Boolean(entry.unsaved);
    rename.setAttribute('aria-label', `Rename “${shownTitle(entry)}”`);
    remove.setAttribute('aria-label', `Delete “${shownTitle(entry)}”`);
  }

  markStreamingInList(streaming) {
    const active = $('conversation-list').querySelector('.conversation.active .streaming-badge');
    if (active) {
      active.hidden = !streaming;
    }
  }

  bindDialogs() {
    for (const cancel of document.querySelectorAll('dialog [data-close]')) {
      cancel.addEventListener('click', () => cancel.closest('dialog').close('cancel'));
    }
    $('rename-dialog').addEventListener('close', () => this.finishRename());
    $('delete-dialog').addEventListener('close', () => this.finishDelete());
    $('sign-in-dialog').addEventListener('close', () => this.finishSignIn());
  }

  askRename(entry) {
    this.renaming = entry;
    $('rename-input').value = entry.title;
    $('rename-dialog').returnValue = '';
    $('rename-dialog').showModal();
    $('rename-input').select();
  }

  async finishRename() {
    const entry = this.renaming;
    const title = $('rename-input').value.trim();
    this.renaming = null;
    if ($('rename-dialog').returnValue !== 'save' || !entry || !title || title === entry.title) {
      return;
    }
    try {
      await this.api.rename(entry.session_id, title);
      this.broadcast({type: 'changed'});
    } catch (error) {
      this.showNotice('The conversation could not be renamed: ' + error.message);
    }
    this.refreshList();
  }

  askDelete(entry) {
    this.deleting = entry;
    $('delete-name').textContent = shownTitle(entry);
    $('delete-dialog').returnValue = '';
    $('delete-dialog').showModal();
  }

  async finishDelete() {
    const entry = this.deleting;
    this.deleting = null;
    if ($('delete-dialog').returnValue !== 'delete' || !entry) {
      return;
    }
    this.deletedHere.add(entry.session_id);
    try {
      await this.api.remove(entry.session_id);
    } catch (error) {
      if (error.status !== 404) {
        this.showNotice('The conversation could not be deleted: ' + error.message);
        return;
      }
    }
    snapshots.drop(entry.session_id);
    outbox.save(entry.session_id, null);
    this.conversations = this.conversations.filter(c => c.session_id !== entry.session_id);
    if (this.conversation.sessionId === entry.session_id) {
      this.deleted = true;
      this.open(randomId('c-'));
      $('input').focus();
    }
    this.broadcast({type: 'changed'});
    this.refreshList();
  }

  broadcast(message) {
    if (this.channel) {
      this.channel.postMessage(message);
    }
  }

  onBroadcast(message) {
    if (message && message.type === 'changed') {
      this.refreshListSoon();
    }
  }

  // ---- sign-in ----

  showSignIn(reason) {
    const dialog = $('sign-in-dialog');
    $('sign-in-reason').textContent = reason;
    $('sign-in-error').hidden = true;
    if (!dialog.open) {
      $('token-input').value = '';
      dialog.showModal();
    }
  }

  finishSignIn() {
    const token = $('token-input').value.trim();
    if ($('sign-in-dialog').returnValue !== 'sign-in' || !token) {
      return;
    }
    this.identity.setToken(token);
    this.tokenChanged();
  }

  tokenChanged() {
    this.showWho();
    this.scheduleRenewal(this.identity.expiresAt);
    if (this.socket && this.socket.open) {
      // The open socket takes the new token without reconnecting; a refusal closes it with 1008.
      this.socket.send({type: 'auth', access_token: this.identity.token});
    } else if (this.socket) {
      this.socket.reconnectNow();
    }
    this.hideNotice();
    this.refreshList();
  }

  scheduleRenewal(expiresAt) {
    clearTimeout(this.renewTimer);
    if (!expiresAt || !Number.isFinite(expiresAt)) {
      return;
    }
    const delay = Math.max(0, expiresAt - Date.now() - RENEW_BEFORE_MS);
    this.renewTimer = setTimeout(() => {
      this.showNotice('Your sign-in ends in a minute.', {label: 'Sign in again',
        run: () => this.showSignIn('Paste a new access token to stay signed in.')});
    }, delay);
  }

  showWho() {
    $('who').textContent = this.identity.token ? 'Signed in as ' + this.identity.user : '';
  }

  // ---- theme ----

  bindTheme() {
    const toggle = $('theme-toggle');
    const show = () => {
      const theme = recall(THEME_KEY) || 'system';
      toggle.textContent = 'Theme: ' + theme;
      toggle.setAttribute('aria-label', 'Theme: ' + theme + '. Change the theme');
    };
    toggle.addEventListener('click', () => {
      const current = recall(THEME_KEY) || 'system';
      const next = THEMES[(THEMES.indexOf(current) + 1) % THEMES.length];
      remember(THEME_KEY, next);
      window.chatTheme.choose(next);
      show();
    });
    show();
  }
}

new ChatApp().start();
