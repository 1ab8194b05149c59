// One conversation as the protocol's client rule keeps it: the highest seq applied, the epoch,
// and the messages those events built. Events at or below the seq are ones already applied.

const CONTINUABLE = new Set(['cancelled', 'interrupted', 'failed']);

export class Conversation {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.epoch = null;
    this.seq = 0;
    this.messages = [];
    this.byId = new Map();
    // finish_reason comes only with a live `complete`; kept so "cut at the length limit" survives a reload.
    this.finishReasons = {};
    this.revision = 0;
  }

  get hasCursor() {
    return this.epoch !== null;
  }

  /** Forgets the cursor, keeping the messages on screen until a fresh history replaces them. */
  dropCursor() {
    this.epoch = null;
    this.seq = 0;
  }

  /** Whether a user message sent with this client_message_id is in the conversation. */
  hasClientMessage(clientMessageId) {
    return this.messages.some(m => m.role === 'user' && m.client_message_id === clientMessageId);
  }

  /** Whether a message was created after this time (an ISO-8601 instant). */
  hasMessageSince(createdAt) {
    const since = Date.parse(createdAt);
    return Number.isNaN(since) || this.messages.some(m => Date.parse(m.created_at) > since);
  }

  /** A conversation saved by `snapshot()`; null when the saved form is not one. */
  static restore(sessionId, saved) {
    if (!saved || typeof saved.epoch !== 'string' || !Number.isInteger(saved.seq) || !Array.isArray(saved.messages)) {
      return null;
    }
    const conversation = new Conversation(sessionId);
    conversation.epoch = saved.epoch;
    conversation.seq = saved.seq;
    conversation.finishReasons = saved.finishReasons || {};
    conversation.replaceMessages(saved.messages);
    return conversation;
  }

  snapshot() {
    return {epoch: this.epoch, seq: this.seq, messages: this.messages, finishReasons: this.finishReasons};
  }

  /** A `history` reply: the snapshot replaces everything; its seq is the last event it reflects. */
  applyHistory(history) {
    this.epoch = history.epoch;
    this.seq = history.seq;
    this.replaceMessages(history.messages || []);
    this.revision++;
  }

  replaceMessages(messages) {
    this.messages = messages.map(m => ({...m, rev: 0}));
    this.byId = new Map(this.messages.map(m => [m.message_id, m]));
  }

  /**
   * Applies one event. Returns true when it changed the conversation, false when it was one
   * already applied. Throws when the event cannot follow what is held (the caller then takes a
   * fresh snapshot).
   */
  applyEvent(event) {
    if (!Number.isInteger(event.seq) || event.seq <= this.seq) {
      return false;
    }
    if (event.seq !== this.seq + 1) {
      throw new Error(`event ${event.seq} follows ${this.seq}: a gap`);
    }
    switch (event.type) {
      case 'user_message':
        this.add({message_id: event.message_id, role: 'user', content: event.content, status: 'completed',
          created_at: event.created_at, client_message_id: event.client_message_id});
        break;
      case 'stream_start':
        this.add({message_id: event.message_id, role: 'assistant', content: '', status: 'streaming',
          created_at: event.created_at || new Date().toISOString(), reply_to: event.reply_to,
          continues: event.continues, total_chunks: 0});
        break;
      case 'chunk': {
        const message = this.require(event.message_id);
        if (event.index !== message.total_chunks) {
          throw new Error(`chunk ${event.index} of ${event.message_id} follows chunk ${message.total_chunks - 1}`);
        }
        message.content += event.content;
        message.total_chunks = event.index + 1;
        message.rev++;
        break;
      }
      case 'complete': {
        const message = this.require(event.message_id);
        message.content = event.content;
        message.status = event.status;
        message.total_chunks = event.total_chunks;
        if (event.error) {
          message.error = event.error;
        }
        if (event.finish_reason) {
          this.finishReasons[event.message_id] = event.finish_reason;
        }
        message.rev++;
        break;
      }
      default:
        break;
    }
    this.seq = event.seq;
    this.revision++;
    return true;
  }

  add(message) {
    if (this.byId.has(message.message_id)) {
      throw new Error(`message ${message.message_id} started twice`);
    }
    message.rev = 0;
    this.messages.push(message);
    this.byId.set(message.message_id, message);
  }

  require(messageId) {
    const message = this.byId.get(messageId);
    if (!message) {
      throw new Error(`event for unknown message ${messageId}`);
    }
    return message;
  }

  /** The assistant message streaming now, or null. */
  streaming() {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (this.messages[i].status === 'streaming') {
        return this.messages[i];
      }
    }
    return null;
  }

  /** Whether `continue` may go on from this assistant message. */
  canContinue(message) {
    return message.role === 'assistant' && (CONTINUABLE.has(message.status)
      || (message.status === 'completed' && this.finishReasons[message.message_id] === 'length'));
  }

  /**
   * What the thread shows, in order: user messages, and answers. An answer is an assistant message
   * with the messages that continue it; an answer followed by a newer answer to the same user
   * message (a regenerate) is marked replaced.
   */
  items() {
    const items = [];
    const answerOf = new Map();
    const latestAnswerTo = new Map();
    for (const message of this.messages) {
      if (message.role === 'user') {
        items.push({kind: 'user', key: 'u:' + message.message_id, message});
        continue;
      }
      const root = message.continues && answerOf.get(message.continues);
      if (root) {
        root.chain.push(message);
        answerOf.set(message.message_id, root);
        continue;
      }
      const answer = {kind: 'answer', key: 'a:' + message.message_id, chain: [message], replyTo: message.reply_to};
      items.push(answer);
      answerOf.set(message.message_id, answer);
      latestAnswerTo.set(message.reply_to, answer);
    }
    for (const item of items) {
      if (item.kind === 'answer') {
        item.replaced = latestAnswerTo.get(item.replyTo) !== item;
        item.last = item.chain[item.chain.length - 1];
        item.content = item.chain.map(m => m.content).join('');
        item.rev = item.chain.map(m => m.message_id + '.' + m.rev).join('|') + (item.replaced ? '|r' : '');
      } else {
        item.rev = item.message.message_id + '.' + item.message.rev;
      }
    }
    return items;
  }

  /** The latest answer in the thread, or null. */
  latestAnswer(items = this.items()) {
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].kind === 'answer' && !items[i].replaced) {
        return items[i];
      }
    }
    return null;
  }
}
