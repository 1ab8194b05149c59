package io.streamchat.gateway;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Identifiers;
import io.streamchat.client.SessionClient;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionReply;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.UUID;

/**
 * The request/reply API, shared by HTTP ({@code /api/...}) and the event bus ({@code chat.api}):
 * checks a JSON request, asks the session owner, and shapes the reply. Failures are
 * {@link ChatException}s with the protocol's codes.
 */
final class ChatApi {

  private final SessionClient sessions;

  ChatApi(SessionClient sessions) {
    this.sessions = sessions;
  }

  Future<JsonObject> send(JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    Object message = body.getValue("message");
    if (message == null) {
      message = body.getValue("content");
    }
    if (!(message instanceof String content) || content.isEmpty()) {
      return Future.failedFuture(badRequest("message must be a non-empty string"));
    }
    String userId = optionalUser(body.getValue("user_id"));
    String clientMessageId = clientMessageId(body);
    return sessions.<SessionReply.MessageAccepted>request(sessionId,
            new SessionCommand.SendMessage(null, userId, content, clientMessageId, UUID.randomUUID().toString()))
        .map(accepted -> {
          JsonObject reply = new JsonObject().put("session_id", sessionId).put("message_id", accepted.messageId());
          if (accepted.replyMessageId() != null) {
            reply.put("reply_message_id", accepted.replyMessageId());
          }
          return reply;
        });
  }

  /** A new answer to the session's last user message: 202 {@code {"session_id","reply_message_id"}}. */
  Future<JsonObject> regenerate(JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    SessionCommand command = new SessionCommand.Regenerate(null, optionalUser(body.getValue("user_id")),
        clientMessageId(body), UUID.randomUUID().toString());
    return sessions.<SessionReply.MessageAccepted>request(sessionId, command).map(accepted -> newAnswer(sessionId, accepted));
  }

  /** A new answer going on from an earlier one: 202 {@code {"session_id","reply_message_id"}}. */
  Future<JsonObject> continueAnswer(JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    SessionCommand command = new SessionCommand.Continue(null, optionalUser(body.getValue("user_id")),
        optionalString(body, "message_id"), UUID.randomUUID().toString());
    return sessions.<SessionReply.MessageAccepted>request(sessionId, command).map(accepted -> newAnswer(sessionId, accepted));
  }

  private static JsonObject newAnswer(String sessionId, SessionReply.MessageAccepted accepted) {
    return new JsonObject().put("session_id", sessionId).put("reply_message_id", accepted.replyMessageId());
  }

  Future<JsonObject> history(String rawSessionId) {
    String sessionId = sessionId(rawSessionId);
    return sessions.<SessionReply.History>request(sessionId, new SessionCommand.GetHistory(null))
        .map(history -> new JsonObject(history.json()));
  }

  Future<JsonObject> recover(JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    String messageId = optionalString(body, "message_id");
    Object index = body.getValue("last_chunk_index");
    if (index != null && !(index instanceof Integer || index instanceof Long)) {
      throw badRequest("last_chunk_index must be an integer");
    }
    int lastChunkIndex = index == null ? -1 : (int) Math.max(-1, Math.min(Integer.MAX_VALUE, ((Number) index).longValue()));
    return sessions.<SessionReply.RecoverResult>request(sessionId, new SessionCommand.Recover(messageId, lastChunkIndex))
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

  Future<JsonObject> cancel(JsonObject body) {
    String sessionId = sessionId(body.getValue("session_id"));
    String messageId = optionalString(body, "message_id");
    return sessions.<SessionReply.CancelResult>request(sessionId, new SessionCommand.Cancel(null, messageId))
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
   * The {@code chat.api} event-bus form: {@code {"action": "send"|"cancel"|"history"|"recover"|"regenerate"|"continue",
   * ...}}.
   */
  Future<JsonObject> handle(JsonObject request) {
    try {
      Object action = request.getValue("action");
      if (!(action instanceof String name)) {
        throw badRequest("action must be a string");
      }
      return switch (name) {
        case "send" -> send(request);
        case "cancel" -> cancel(request);
        case "history" -> history(request.getValue("session_id") instanceof String s ? s : null);
        case "recover" -> recover(request);
        case "regenerate" -> regenerate(request);
        case "continue" -> continueAnswer(request);
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

  private static String optionalUser(Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof String user) || !Identifiers.isUserId(user)) {
      throw badRequest("user_id must be a string of letters, digits and _.@:- (at most 128)");
    }
    return user;
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
