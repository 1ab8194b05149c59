package io.streamchat.session;

import io.streamchat.protocol.AnswerStatus;
import io.vertx.core.json.JsonObject;

/**
 * A message as the history shows it. {@code continues} names the answer an assistant message goes
 * on from; {@code finishReason} is the provider's for a completed answer, when it gave one.
 */
record MessageView(String messageId, String role, String content, AnswerStatus status, String createdAt,
                   String replyTo, String clientMessageId, Integer totalChunks, String errorCode,
                   String errorMessage, String continues, String finishReason) {

  static final String USER = "user";
  static final String ASSISTANT = "assistant";

  boolean isAssistant() {
    return ASSISTANT.equals(role);
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("message_id", messageId)
        .put("role", role)
        .put("content", content)
        .put("status", status.wire())
        .put("created_at", createdAt);
    if (replyTo != null) {
      json.put("reply_to", replyTo);
    }
    if (continues != null) {
      json.put("continues", continues);
    }
    if (clientMessageId != null) {
      json.put("client_message_id", clientMessageId);
    }
    if (totalChunks != null) {
      json.put("total_chunks", totalChunks);
    }
    if (errorCode != null) {
      json.put("error", error(errorCode, errorMessage));
    }
    if (finishReason != null) {
      json.put("finish_reason", finishReason);
    }
    return json;
  }

  /** The history form, encoded. */
  String encode() {
    return toJson().encode();
  }

  static JsonObject error(String code, String message) {
    return new JsonObject().put("code", code).put("message", message == null ? code : message);
  }

  static MessageView fromJson(String json) {
    return fromJson(new JsonObject(json));
  }

  static MessageView fromJson(JsonObject json) {
    JsonObject error = json.getJsonObject("error");
    return new MessageView(json.getString("message_id"), json.getString("role"), json.getString("content", ""),
        AnswerStatus.fromWire(json.getString("status")), json.getString("created_at"), json.getString("reply_to"),
        json.getString("client_message_id"), json.getInteger("total_chunks"),
        error == null ? null : error.getString("code"), error == null ? null : error.getString("message"),
        json.getString("continues"), json.getString("finish_reason"));
  }
}
