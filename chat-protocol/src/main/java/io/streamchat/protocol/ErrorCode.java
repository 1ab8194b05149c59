package io.streamchat.protocol;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Every error a client can see. One place maps each to its wire code, HTTP status and, where the
 * error ends a socket, its WebSocket close code. Every new error must be described here.
 */
public enum ErrorCode {
  BAD_REQUEST("bad_request", 400, "bad request"),
  UNAUTHORIZED("unauthorized", 401, "missing or invalid access token"),
  FORBIDDEN("forbidden", 403, "this session belongs to another user"),
  NOT_FOUND("not_found", 404, "not found"),
  BUSY("busy", 409, "an answer is already streaming in this session"),
  TOO_LARGE("too_large", 413, "content exceeds the size limit"),
  RATE_LIMITED("rate_limited", 429, "too many requests"),
  UNAVAILABLE("unavailable", 503, "a dependency is unavailable; the request was not accepted"),
  INTERNAL("internal", 500, "internal error");

  private final String wire;
  private final int httpStatus;
  private final String defaultMessage;

  ErrorCode(String wire, int httpStatus, String defaultMessage) {
    this.wire = wire;
    this.httpStatus = httpStatus;
    this.defaultMessage = defaultMessage;
  }

  public String wire() {
    return wire;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String defaultMessage() {
    return defaultMessage;
  }

  /** The close code for a socket that this error ends; most errors leave the socket open. */
  public short closeCode() {
    return switch (this) {
      case TOO_LARGE -> 1009;
      case BAD_REQUEST, FORBIDDEN, UNAUTHORIZED -> 1008;
      case UNAVAILABLE -> 1013;
      default -> 1011;
    };
  }

  public static ErrorCode fromWire(String wire) {
    String bare = ChatException.wireCode(wire);
    for (ErrorCode code : values()) {
      if (code.wire.equals(bare)) {
        return code;
      }
    }
    return INTERNAL;
  }

  /** Maps any failure of an event-bus request to the error a client sees. */
  public static ErrorCode of(Throwable failure) {
    if (failure instanceof ChatException chat) {
      return chat.code();
    }
    if (failure instanceof ReplyException reply) {
      if (reply.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        return fromWire(reply.getMessage());
      }
      return UNAVAILABLE;
    }
    return INTERNAL;
  }
}
