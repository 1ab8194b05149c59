package io.streamchat.session;

import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.RecoveryStatus;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.SessionReply.CancelResult;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Collection;

/**
 * How a session's events and replies look on the wire: every frame the actor sends is rendered
 * here, and stored events are read back here. Events carry their seq; replies (statuses, acks,
 * snapshots) carry none and are framed with seq 0.
 */
final class SessionFrames {

  private SessionFrames() {
  }

  // ---- events ----

  static String userMessage(long seq, MessageView user) {
    JsonObject event = event("user_message", seq).put("message_id", user.messageId());
    if (user.clientMessageId() != null) {
      event.put("client_message_id", user.clientMessageId());
    }
    return event.put("content", user.content()).put("created_at", user.createdAt()).encode();
  }

  static String streamStart(long seq, String messageId, String replyTo, String continues, String clientMessageId) {
    JsonObject event = event("stream_start", seq).put("message_id", messageId).put("reply_to", replyTo);
    if (continues != null) {
      event.put("continues", continues);
    }
    if (clientMessageId != null) {
      event.put("client_message_id", clientMessageId);
    }
    return event.encode();
  }

  /** The hot path: one per token, written directly rather than through a tree. */
  static String chunk(long seq, String messageId, int index, String text) {
    // The fixed part is about 75 characters; a little room for escapes, so that the builder never grows.
    int capacity = 96 + messageId.length() + text.length() + (text.length() >> 3);
    StringBuilder json = new StringBuilder(capacity).append("{\"type\":\"chunk\",\"seq\":").append(seq)
        .append(",\"message_id\":");
    JsonText.quote(json, messageId).append(",\"index\":").append(index).append(",\"content\":");
    return JsonText.quote(json, text).append('}').toString();
  }

  static String complete(long seq, MessageView answer, AnswerStatus status, AnswerError error, String errorMessage) {
    JsonObject event = event("complete", seq).put("message_id", answer.messageId()).put("status", status.wire())
        .put("total_chunks", answer.totalChunks()).put("content", answer.content());
    if (error != null) {
      event.put("error", MessageView.error(error.wire(), errorMessage));
    }
    if (answer.finishReason() != null) {
      event.put("finish_reason", answer.finishReason());
    }
    return event.encode();
  }

  // ---- replies ----

  /** The cursor is served: the events after it follow. */
  static Frame recovered(long head, int chunksRecovered) {
    return reply(status(RecoveryStatus.RECOVERED, head).put("chunks_recovered", chunksRecovered));
  }

  /** The cursor cannot be served: a history follows. */
  static Frame reset(long head) {
    return reply(status(RecoveryStatus.RESET, head));
  }

  /** The end of a compat {@code reconnect}'s re-sent chunks. */
  static Frame reconnected(RecoveryStatus status, String messageId, int chunksRecovered, long seq) {
    return reply(status(status, seq).put("message_id", messageId).put("chunks_recovered", chunksRecovered));
  }

  static Frame cancelAck(CancelResult result) {
    JsonObject ack = new JsonObject().put("type", "cancel_ack");
    if (result.messageId() != null) {
      ack.put("message_id", result.messageId());
    }
    ack.put("status", result.status().wire());
    if (result.totalChunks() != null) {
      ack.put("total_chunks", result.totalChunks());
    }
    return reply(ack);
  }

  /**
   * The session's {@code history} (without its {@code type} for the HTTP API): the newest
   * {@code maxMessages} messages, ending with the answer streaming now, if any.
   */
  static String history(String sessionId, String epoch, long seq, Collection<MessageView> messages, MessageView streaming,
                        int maxMessages, boolean withType) {
    JsonObject history = new JsonObject();
    if (withType) {
      history.put("type", "history");
    }
    JsonArray list = new JsonArray();
    int skip = Math.max(0, messages.size() + (streaming == null ? 0 : 1) - maxMessages);
    for (MessageView message : messages) {
      if (skip-- > 0) {
        continue;
      }
      list.add(message.toJson());
    }
    if (streaming != null) {
      list.add(streaming.toJson());
    }
    return history.put("session_id", sessionId).put("epoch", epoch).put("seq", seq).put("messages", list).encode();
  }

  static Frame historyFrame(String historyJson) {
    return new Frame(0, "history", historyJson);
  }

  // ---- stored events, read back ----

  /** What a stored {@code stream_start} says of its answer. */
  record StreamStart(String messageId, String replyTo, String continues, String clientMessageId) {
  }

  static StreamStart readStreamStart(String json) {
    JsonObject start = new JsonObject(json);
    return new StreamStart(start.getString("message_id"), start.getString("reply_to"), start.getString("continues"),
        start.getString("client_message_id"));
  }

  /** A stored event as the log holds it; its history form is not needed once it is stored. */
  static LoggedEvent readStored(StoredEvent stored) {
    JsonObject json = new JsonObject(stored.json());
    return new LoggedEvent(stored.seq(), stored.type(), stored.json(), json.getString("message_id"),
        json.getInteger("index", -1), null);
  }

  /** What a stored chunk event holds. */
  record Chunk(int index, String content) {
  }

  static Chunk readChunk(String chunkJson) {
    JsonObject chunk = new JsonObject(chunkJson);
    return new Chunk(chunk.getInteger("index", -1), chunk.getString("content"));
  }

  private static JsonObject event(String type, long seq) {
    return new JsonObject().put("type", type).put("seq", seq);
  }

  private static JsonObject status(RecoveryStatus status, long seq) {
    return new JsonObject().put("type", "recovery_status").put("status", status.wire()).put("seq", seq);
  }

  private static Frame reply(JsonObject json) {
    return new Frame(0, json.getString("type"), json.encode());
  }
}
