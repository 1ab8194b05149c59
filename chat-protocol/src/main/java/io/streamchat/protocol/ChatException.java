package io.streamchat.protocol;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/** A failure a client should see, with its protocol error code. */
public class ChatException extends RuntimeException {

  /**
   * Separates the fields of {@link #toReplyException()}'s message: neither an error code nor a number
   * holds a tab, so the message after the second one may hold anything, and logs stay readable.
   */
  private static final char FIELD = '\t';

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

  /**
   * The form between the node's own verticles: HTTP status as failure code; as message the error
   * code, the wait and the message, so that a refusal reaches the client as it was said.
   */
  public ReplyException toReplyException() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code.httpStatus(),
        code.wire() + FIELD + retryAfterMs + FIELD + getMessage());
  }

  /** The {@code chat.api} contract: HTTP status as failure code, error code as message. */
  public ReplyException toApiReply() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code.httpStatus(), code.wire());
  }

  /** Any failure as a ChatException; a failed event-bus request keeps its error code, and its message and wait when it has them. */
  public static ChatException of(Throwable failure) {
    if (failure instanceof ChatException chat) {
      return chat;
    }
    if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
        && reply.getMessage() != null) {
      String[] fields = reply.getMessage().split(String.valueOf(FIELD), 3);
      if (fields.length == 3) {
        long retryAfterMs;
        try {
          retryAfterMs = Long.parseLong(fields[1]);
        } catch (NumberFormatException e) {
          retryAfterMs = 0;
        }
        return new ChatException(ErrorCode.fromWire(fields[0]), fields[2], Math.max(0, retryAfterMs));
      }
    }
    ErrorCode code = ErrorCode.of(failure);
    return new ChatException(code, code.defaultMessage());
  }

  /** The error code of a reply's message, in either form. */
  static String wireCode(String replyMessage) {
    int end = replyMessage == null ? -1 : replyMessage.indexOf(FIELD);
    return end < 0 ? replyMessage : replyMessage.substring(0, end);
  }
}
