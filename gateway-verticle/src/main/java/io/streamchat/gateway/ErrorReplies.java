package io.streamchat.gateway;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

/** How a client sees an error: one rendering for WebSocket frames and HTTP responses. */
final class ErrorReplies {

  /** How long a client told {@code rate_limited} should wait before trying again. */
  static final long RETRY_AFTER_MS = 1000;
  /** The close code of a server restart: clients reconnect at once, with their cursor. */
  static final short SERVICE_RESTART = 1012;

  private ErrorReplies() {
  }

  /** The {@code error} reply of a socket; {@code ref} names the client frame that caused it, when known. */
  static String frame(ErrorCode code, String message, String ref) {
    return frame(new ChatException(code, message), ref);
  }

  static String frame(ChatException failure, String ref) {
    ErrorCode code = failure.code();
    JsonObject error = new JsonObject().put("type", "error").put("code", code.wire()).put("message", failure.getMessage());
    if (code == ErrorCode.RATE_LIMITED) {
      error.put("retry_after_ms", retryAfterMs(failure));
    }
    if (ref != null) {
      error.put("ref", ref);
    }
    return error.encode();
  }

  /**
   * The error as an HTTP response: status, {@code Retry-After} when rate limited, {@code WWW-Authenticate}
   * when unauthorized, {@code {"error":{code,message}}}.
   */
  static void send(HttpServerResponse response, ChatException error) {
    if (response.ended()) {
      return;
    }
    JsonObject body = new JsonObject().put("error",
        new JsonObject().put("code", error.code().wire()).put("message", error.getMessage()));
    response.setStatusCode(error.code().httpStatus()).putHeader("content-type", "application/json");
    if (error.code() == ErrorCode.RATE_LIMITED) {
      response.putHeader("retry-after", Long.toString(Math.max(1, (retryAfterMs(error) + 999) / 1000)));
    } else if (error.code() == ErrorCode.UNAUTHORIZED) {
      response.putHeader("www-authenticate", "Bearer");
    }
    response.end(body.encode());
  }

  private static long retryAfterMs(ChatException failure) {
    return failure.retryAfterMs() > 0 ? failure.retryAfterMs() : RETRY_AFTER_MS;
  }
}
