package io.streamchat.gateway;

import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.Characters;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Identifiers;
import io.streamchat.client.SessionClient;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionReply;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import java.time.Instant;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.UUID;

/**
 * The request/reply API, shared by HTTP ({@code /api/...}) and the event bus ({@code chat.api}):
 * checks a JSON request, asks the session owner, and shapes the reply. Failures are
 * {@link ChatException}s with the protocol's codes.
 */
final class ChatApi {

  /** Conversations in one page of the list, by default and at most. */
  private static final int DEFAULT_PAGE = 50;
  private static final int MAX_PAGE = 200;
  private static final int MAX_TITLE_CHARS = 200;

  private final Vertx vertx;
  private final SessionClient sessions;
  private final DeliveryOptions durableOptions;
  private final boolean durable;

  ChatApi(Vertx vertx, SessionClient sessions, long requestTimeoutMs, boolean durable) {
    this.vertx = vertx;
    this.sessions = sessions;
    this.durableOptions = new DeliveryOptions().setSendTimeout(requestTimeoutMs);
    this.durable = durable;
  }

  /** The user's conversations, most recently updated first: {@code {"sessions":[…]}}. */
  Future<JsonObject> conversations(String user, String limit, String before) {
    if (user == null) {
      throw badRequest("user_id is required");
    }
    int pageSize = limit == null ? DEFAULT_PAGE : parseInt(limit, "limit");
    if (pageSize < 1 || pageSize > MAX_PAGE) {
      throw badRequest("limit must be between 1 and " + MAX_PAGE);
    }
    long beforeMs = before == null ? 0 : parseTime(before);
    return durableTier(new DurableCommand.ListConversations(user, pageSize, beforeMs))
        .map(reply -> {
          JsonArray list = new JsonArray();
          ((DurableCommand.Conversations) reply).entries().forEach(entry -> list.add(entry(entry)));
          return new JsonObject().put("sessions", list);
        });
  }

  /** Renames a conversation: its entry. */
  Future<JsonObject> rename(String user, String rawSessionId, JsonObject body) {
    String sessionId = sessionId(rawSessionId);
    String title = body.getValue("title") instanceof String text ? text.strip() : "";
    if (title.isEmpty() || Characters.over(title, MAX_TITLE_CHARS)) {
      throw badRequest("title must be a string of 1 to " + MAX_TITLE_CHARS + " characters");
    }
    if (!JsonText.isWellFormed(title)) {
      throw badRequest("title must be Unicode text: it holds a lone surrogate");
    }
    if (title.indexOf('\u0000') >= 0) {
      throw badRequest("title must not hold U+0000");
    }
    return authorize(user, sessionId)
        .compose(v -> durableTier(new DurableCommand.Rename(sessionId, title)))
        .map(reply -> entry((DurableCommand.ConversationEntry) reply));
  }

  /** Fails {@code forbidden} when the session belongs to another user; anonymous callers are not checked. */
  Future<Void> authorize(String user, String sessionId) {
    if (user == null) {
      return Future.succeededFuture();
    }
    return sessions.request(sessionId, new SessionCommand.Authorize(user)).mapEmpty();
  }

  /** Deletes a conversation from every tier but the audit log; fails {@code not_found} when there was none. */
  Future<Void> delete(String user, String rawSessionId) {
    String sessionId = sessionId(rawSessionId);
    return sessions.<SessionReply.Deleted>request(sessionId, new SessionCommand.DeleteConversation(user))
        .compose(deleted -> deleted.found() ? Future.succeededFuture()
            : Future.failedFuture(new ChatException(ErrorCode.NOT_FOUND, "no conversation " + sessionId)));
  }

  private Future<Object> durableTier(DurableCommand command) {
    if (!durable) {
      return Future.failedFuture(new ChatException(ErrorCode.UNAVAILABLE,
          "conversations are listed by the durable tier, which is off (CHAT_DB_URL=none)"));
    }
    return Nearest.request(vertx, Addresses.DURABLE, command, durableOptions).map(Message::body);
  }

  private static JsonObject entry(DurableCommand.ConversationEntry entry) {
    return new JsonObject().put("session_id", entry.sessionId()).put("title", entry.title())
        .put("created_at", Instant.ofEpochMilli(entry.createdAtMs()).toString())
        .put("updated_at", Instant.ofEpochMilli(entry.updatedAtMs()).toString())
        .put("message_count", entry.messageCount()).put("streaming", entry.streaming());
  }

  private static int parseInt(String value, String name) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw badRequest(name + " must be an integer");
    }
  }

  private static long parseTime(String value) {
    try {
      return Instant.parse(value.strip()).toEpochMilli();
    } catch (java.time.format.DateTimeParseException e) {
      throw badRequest("before must be an ISO-8601 time such as an updated_at of the list");
    }
  }

  Future<JsonObject> send(String userId, JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    Object message = body.getValue("message");
    if (message == null) {
      message = body.getValue("content");
    }
    if (!(message instanceof String content) || content.isEmpty()) {
      return Future.failedFuture(badRequest("message must be a non-empty string"));
    }
    if (!JsonText.isWellFormed(content)) {
      return Future.failedFuture(badRequest("message must be Unicode text: it holds a lone surrogate"));
    }
    String clientMessageId = clientMessageId(body);
    SessionCommand command = new SessionCommand.SendMessage(null, userId, content, clientMessageId,
        UUID.randomUUID().toString());
    return sessions.<SessionReply.MessageAccepted>request(sessionId, command)
        .map(accepted -> {
          JsonObject reply = new JsonObject().put("session_id", sessionId).put("message_id", accepted.messageId());
          if (accepted.replyMessageId() != null) {
            reply.put("reply_message_id", accepted.replyMessageId());
          }
          return reply;
        });
  }

  /** A new answer to the session's last user message: 202 {@code {"session_id","reply_message_id"}}. */
  Future<JsonObject> regenerate(String user, JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    SessionCommand command = new SessionCommand.Regenerate(null, user,
        clientMessageId(body), UUID.randomUUID().toString());
    return startAnswer(user, sessionId, command);
  }

  /** A new answer going on from an earlier one: 202 {@code {"session_id","reply_message_id"}}. */
  Future<JsonObject> continueAnswer(String user, JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    SessionCommand command = new SessionCommand.Continue(null, user,
        optionalString(body, "message_id"), UUID.randomUUID().toString());
    return startAnswer(user, sessionId, command);
  }

  private Future<JsonObject> startAnswer(String user, String sessionId, SessionCommand command) {
    return sessions.<SessionReply.MessageAccepted>request(sessionId, command)
        .map(accepted -> new JsonObject().put("session_id", sessionId).put("reply_message_id", accepted.replyMessageId()));
  }

  Future<JsonObject> history(String user, String rawSessionId) {
    String sessionId = sessionId(rawSessionId);
    return sessions.<SessionReply.History>request(sessionId, new SessionCommand.GetHistory(user))
        .map(history -> new JsonObject(history.json()));
  }

  Future<JsonObject> recover(String user, JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    String messageId = optionalString(body, "message_id");
    Object index = body.getValue("last_chunk_index");
    if (index != null && !(index instanceof Integer || index instanceof Long)) {
      throw badRequest("last_chunk_index must be an integer");
    }
    int lastChunkIndex = index == null ? -1 : (int) Math.max(-1, Math.min(Integer.MAX_VALUE, ((Number) index).longValue()));
    return sessions.<SessionReply.RecoverResult>request(sessionId, new SessionCommand.Recover(messageId, lastChunkIndex, user))
        .map(result -> {
          JsonArray chunks = new JsonArray();
          result.chunks().forEach(chunk -> chunks.add(
              new JsonObject().put("index", chunk.index()).put("seq", chunk.seq()).put("content", chunk.content())));
          JsonObject reply = new JsonObject().put("status", result.status().wire());
          if (result.messageId() != null) {
            reply.put("message_id", result.messageId());
          }
          return reply.put("chunks", chunks);
        });
  }

  Future<JsonObject> cancel(String user, JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    String messageId = optionalString(body, "message_id");
    return sessions.<SessionReply.CancelResult>request(sessionId, new SessionCommand.Cancel(null, messageId, user, 1))
        .map(result -> {
          JsonObject reply = new JsonObject();
          if (result.messageId() != null) {
            reply.put("message_id", result.messageId());
          }
          reply.put("status", result.status().wire());
          if (result.totalChunks() != null) {
            reply.put("total_chunks", result.totalChunks());
          }
          return reply;
        });
  }

  /**
   * The {@code chat.api} event-bus form: {@code {"action": "send"|"cancel"|"history"|"recover"|"regenerate"|"continue"
   * |"sessions", ...}}, made for {@code user} (already authenticated).
   */
  Future<JsonObject> handle(String user, JsonObject request) {
    try {
      Object action = request.getValue("action");
      if (!(action instanceof String name)) {
        throw badRequest("action must be a string");
      }
      return switch (name) {
        case "send" -> send(user, request);
        case "cancel" -> cancel(user, request);
        case "history" -> history(user, request.getValue("session_id") instanceof String s ? s : null);
        case "recover" -> recover(user, request);
        case "regenerate" -> regenerate(user, request);
        case "continue" -> continueAnswer(user, request);
        case "sessions" -> conversations(user,
            request.getValue("limit") == null ? null : request.getValue("limit").toString(),
            request.getValue("before") instanceof String before ? before : null);
        default -> throw badRequest("unknown action '" + name + "'");
      };
    } catch (ChatException e) {
      return Future.failedFuture(e);
    }
  }

  private static String sessionId(Object value) {
    if (!(value instanceof String id) || !Identifiers.isSessionId(id)) {
      throw badRequest("session_id must match [A-Za-z0-9_-]{1,64}");
    }
    return id;
  }

  private static String clientMessageId(JsonObject body) {
    String clientMessageId = optionalString(body, "client_message_id");
    if (clientMessageId != null && !Identifiers.isClientMessageId(clientMessageId)) {
      throw badRequest("client_message_id must match [A-Za-z0-9_.:-]{1,64}");
    }
    return clientMessageId;
  }

  private static String optionalString(JsonObject body, String name) {
    Object value = body.getValue(name);
    if (value != null && !(value instanceof String)) {
      throw badRequest(name + " must be a string");
    }
    return (String) value;
  }

  static ChatException badRequest(String message) {
    return new ChatException(ErrorCode.BAD_REQUEST, message);
  }
}
