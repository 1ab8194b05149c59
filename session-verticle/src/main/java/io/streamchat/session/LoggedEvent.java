package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.FrameBatch.Frame;

/**
 * One event of the session's log. {@code json} is exactly what clients receive; {@code messageJson}
 * is the history form of the message the event changed (null for chunks).
 */
record LoggedEvent(long seq, String type, String json, String messageId, int index, String messageJson) {

  static final String USER_MESSAGE = "user_message";
  static final String STREAM_START = "stream_start";
  static final String CHUNK = "chunk";
  static final String COMPLETE = "complete";

  boolean isChunk() {
    return CHUNK.equals(type);
  }

  Frame frame() {
    return new Frame(seq, type, json);
  }

  StoredEvent stored() {
    return new StoredEvent(seq, type, json, messageId, messageJson);
  }
}
