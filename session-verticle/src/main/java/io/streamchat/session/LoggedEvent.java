package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.FrameBatch.Frame;

/**
 * One event of the session's log. {@link #json()} is exactly what clients receive; {@code messageJson}
 * is the history form of the message the event changed (null for chunks).
 *
 * <p>Chunks are most of a log, and a log lives as long as its session: every young collection
 * copies what a live answer's chunks hold. A chunk therefore keeps its rendered JSON only while it is
 * hot, until Redis holds it and every attached connection was sent it ({@link #releaseJson()}); a
 * replay renders it again from the chunk's text, to the same characters.
 */
final class LoggedEvent {

  static final String USER_MESSAGE = "user_message";
  static final String STREAM_START = "stream_start";
  static final String CHUNK = "chunk";
  static final String COMPLETE = "complete";

  private final long seq;
  private final String type;
  private final String messageId;
  private final int index;
  private final String messageJson;
  /** The chunk's text, from which its JSON is rendered again; null for other events and chunks loaded from Redis. */
  private final String content;
  /** Null once a chunk with its text has been stored. */
  private String json;

  LoggedEvent(long seq, String type, String json, String messageId, int index, String messageJson) {
    this(seq, type, json, messageId, index, messageJson, null);
  }

  private LoggedEvent(long seq, String type, String json, String messageId, int index, String messageJson,
                      String content) {
    this.seq = seq;
    this.type = type;
    this.json = json;
    this.messageId = messageId;
    this.index = index;
    this.messageJson = messageJson;
    this.content = content;
  }

  /** A new chunk of an answer. */
  static LoggedEvent chunk(long seq, String messageId, int index, String content) {
    return new LoggedEvent(seq, CHUNK, SessionFrames.chunk(seq, messageId, index, content), messageId, index, null,
        content);
  }

  long seq() {
    return seq;
  }

  String type() {
    return type;
  }

  String messageId() {
    return messageId;
  }

  /** The chunk's index in its answer; -1 for other events. */
  int index() {
    return index;
  }

  String messageJson() {
    return messageJson;
  }

  String json() {
    String rendered = json;
    return rendered != null ? rendered : SessionFrames.chunk(seq, messageId, index, content);
  }

  /** The text of a chunk. */
  String chunkContent() {
    return content != null ? content : SessionFrames.readChunk(json).content();
  }

  boolean isChunk() {
    return CHUNK.equals(type);
  }

  /** Nothing needs the rendered JSON at hand any more: a chunk that can render it again lets it go. */
  void releaseJson() {
    if (content != null) {
      json = null;
    }
  }

  Frame frame() {
    return new Frame(seq, type, json());
  }

  StoredEvent stored() {
    return new StoredEvent(seq, type, json(), messageId, messageJson);
  }

  @Override
  public String toString() {
    return "LoggedEvent[seq=" + seq + ", type=" + type + ", messageId=" + messageId + ", index=" + index + "]";
  }
}
