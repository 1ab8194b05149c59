package io.streamchat.server;

import io.streamchat.protocol.DurableCommand.Write;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversations as the audit log tells them: records of many sessions in, each session's in topic
 * order; per session its user and its messages as the history shows them (the {@code message}
 * header of questions and answers' ends; a later version of a message replaces the earlier one in
 * place). A {@code session_deleted} record ends a conversation; records after it start a new one.
 */
final class ConversationRebuild {

  /** One conversation: its messages in order, each as JSON with the time of its record. */
  static final class Conversation {
    final String sessionId;
    String userId;
    boolean deleted;
    /** Its records were read from its first (seq 1): the whole conversation, not a window of it. */
    boolean whole;
    final Map<String, String> messages = new LinkedHashMap<>();
    final Map<String, Long> messageAtMs = new LinkedHashMap<>();

    Conversation(String sessionId) {
      this.sessionId = sessionId;
    }

    /** The durable tier's writes that rebuild it: each message, in order, the questions naming the title. */
    List<Write> writes() {
      List<Write> writes = new ArrayList<>(messages.size());
      for (Map.Entry<String, String> message : messages.entrySet()) {
        JsonObject json = new JsonObject(message.getValue());
        String title = "user".equals(json.getString("role")) ? Write.titleOf(json.getString("content", "")) : null;
        writes.add(new Write(sessionId, userId, message.getKey(), message.getValue(), title, false,
            messageAtMs.get(message.getKey())));
      }
      return writes;
    }
  }

  private final Map<String, Conversation> conversations = new LinkedHashMap<>();
  private long records;

  /** One record of the topic: its key, its {@code type} header, its value, its {@code message} header. */
  void add(String sessionId, String type, String value, String message, long timestampMs) {
    records++;
    Conversation conversation = conversations.computeIfAbsent(sessionId, Conversation::new);
    if ("session_deleted".equals(type)) {
      conversation = new Conversation(sessionId);
      conversation.deleted = true;
      conversations.put(sessionId, conversation);
      return;
    }
    if (conversation.deleted) {
      conversation = new Conversation(sessionId);
      conversations.put(sessionId, conversation);
    }
    JsonObject event = new JsonObject(value);
    if (conversation.messages.isEmpty() && conversation.userId == null && event.getLong("seq", 0L) == 1) {
      conversation.whole = true;
    }
    String user = event.getString("user_id");
    if (user != null) {
      conversation.userId = user;
    }
    if (message != null) {
      JsonObject json = new JsonObject(message);
      if (!json.containsKey("content")) {
        // An answer's end leaves its text out of the header: the event carries it.
        json.put("content", event.getString("content", ""));
        message = json.encode();
      }
      String messageId = json.getString("message_id");
      conversation.messages.put(messageId, message);
      conversation.messageAtMs.put(messageId, timestampMs);
    }
  }

  Collection<Conversation> conversations() {
    return conversations.values();
  }

  long records() {
    return records;
  }
}
