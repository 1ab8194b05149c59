package io.streamchat.gateway;

import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.Identifiers;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/** A frame a client sent over a WebSocket, parsed and checked against the protocol. */
sealed interface ClientFrame {

  record Message(String content, String clientMessageId) implements ClientFrame {
  }

  record Cancel(String messageId) implements ClientFrame {
  }

  record Regenerate(String clientMessageId) implements ClientFrame {
  }

  /** {@code messageId} null: the last assistant message. */
  record Continue(String messageId) implements ClientFrame {
  }

  record Reconnect(String messageId, int lastChunkIndex) implements ClientFrame {
  }

  record Heartbeat() implements ClientFrame {
  }

  record Ping() implements ClientFrame {
  }

  /** A new access token for the socket. */
  record Auth(String accessToken) implements ClientFrame {
  }

  /** A frame that breaks the protocol; {@code ref} is its type when known. */
  record Invalid(String message, String ref) implements ClientFrame {
  }

  static ClientFrame parse(String text) {
    JsonObject json;
    try {
      Object value = io.vertx.core.json.Json.decodeValue(text);
      if (!(value instanceof JsonObject object)) {
        return new Invalid("a frame must be a JSON object", null);
      }
      json = object;
    } catch (DecodeException e) {
      return new Invalid("a frame must be valid JSON", null);
    }
    Object type = json.getValue("type");
    if (!(type instanceof String kind)) {
      return new Invalid("type must be a string", null);
    }
    try {
      return switch (kind) {
        case "message" -> message(json);
        case "cancel" -> new Cancel(string(json, "message_id", null));
        case "regenerate" -> new Regenerate(clientMessageId(json));
        case "continue" -> new Continue(string(json, "message_id", null));
        case "reconnect" -> reconnect(json);
        case "heartbeat" -> new Heartbeat();
        case "ping" -> new Ping();
        case "auth" -> auth(json);
        default -> new Invalid("unknown type '" + abbreviate(kind) + "'", abbreviate(kind));
      };
    } catch (IllegalArgumentException e) {
      return new Invalid(e.getMessage(), kind);
    }
  }

  private static ClientFrame message(JsonObject json) {
    Object content = json.getValue("content");
    if (!(content instanceof String text) || text.isEmpty()) {
      throw new IllegalArgumentException("content must be a non-empty string");
    }
    if (!JsonText.isWellFormed(text)) {
      throw new IllegalArgumentException("content must be Unicode text: it holds a lone surrogate");
    }
    return new Message(text, clientMessageId(json));
  }

  private static String clientMessageId(JsonObject json) {
    String clientMessageId = string(json, "client_message_id", null);
    if (clientMessageId != null && !Identifiers.isClientMessageId(clientMessageId)) {
      throw new IllegalArgumentException("client_message_id must match [A-Za-z0-9_.:-]{1,64}");
    }
    return clientMessageId;
  }

  private static ClientFrame auth(JsonObject json) {
    String token = string(json, "access_token", null);
    if (token == null) {
      throw new IllegalArgumentException("access_token is required");
    }
    // An empty token is a token that is not valid: unauthorized, as any other.
    return new Auth(token);
  }

  private static ClientFrame reconnect(JsonObject json) {
    String messageId = string(json, "message_id", "messageId");
    if (messageId == null) {
      throw new IllegalArgumentException("message_id is required");
    }
    Object index = json.getValue("last_chunk_index");
    if (index == null) {
      index = json.getValue("lastChunkIndex");
    }
    if (index == null) {
      return new Reconnect(messageId, -1);
    }
    if (!(index instanceof Integer || index instanceof Long) || ((Number) index).longValue() < -1
        || ((Number) index).longValue() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("last_chunk_index must be an integer of at least -1");
    }
    return new Reconnect(messageId, ((Number) index).intValue());
  }

  /** A string field (or its compat alias); null and absent are the same; any other type is refused. */
  private static String string(JsonObject json, String name, String alias) {
    Object value = json.getValue(name);
    if (value == null && alias != null) {
      value = json.getValue(alias);
      name = alias;
    }
    if (value == null) {
      return null;
    }
    if (!(value instanceof String text)) {
      throw new IllegalArgumentException(name + " must be a string");
    }
    return text;
  }

  private static String abbreviate(String text) {
    return text.length() > 40 ? text.substring(0, 40) + "..." : text;
  }
}
