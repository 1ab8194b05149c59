package io.streamchat.protocol;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/** A failure a client should see, with its protocol error code. */
public class ChatException extends RuntimeException {

  private final ErrorCode code;
  private final long retryAfterMs;

  public ChatException(ErrorCode code, String message) {
    this(code, message, 0);
  }

  private ChatException(ErrorCode code, String message, long retryAfterMs) {
    super(message, null, false, false);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  /** {@code rate_limited}, with how long the caller should wait before trying again. */
  public static ChatException rateLimited(String message, long retryAfterMs) {
    return new ChatException(ErrorCode.RATE_LIMITED, message, Math.max(1, retryAfterMs));
  }

  public ChatException(ErrorCode code) {
    this(code, code.defaultMessage());
  }

  public ErrorCode code() {
    return code;
  }

  /** How long to wait before trying again, for {@code rate_limited}; 0 when not known. */
  public long retryAfterMs() {
    return retryAfterMs;
  }

  /** The event-bus form: HTTP status as failure code, error code as message (the {@code chat.api} contract). */
  public ReplyException toReplyException() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code.httpStatus(), code.wire());
  }

  /** Any failure as a ChatException; a failed event-bus request keeps its error code. */
  public static ChatException of(Throwable failure) {
    if (failure instanceof ChatException chat) {
      return chat;
    }
    ErrorCode code = ErrorCode.of(failure);
    return new ChatException(code, code.defaultMessage());
  }
}
