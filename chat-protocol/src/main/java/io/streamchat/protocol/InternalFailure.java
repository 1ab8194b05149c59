package io.streamchat.protocol;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Failures that verticles reply to each other and never show a client: each tells the caller
 * what to do next. Carried as the failure code of a {@link ReplyException}, outside the HTTP
 * statuses that a {@link ChatException} reply carries.
 */
public enum InternalFailure {
  /** The session is not (or no longer) owned here: activate it and try again wherever it lives. */
  MOVED(900),
  /** The owner does not know the connection the command names: attach again, then retry. */
  NOT_ATTACHED(901),
  /** The fencing token is no longer the session's newest: a newer owner holds it; this one stops. */
  FENCED(902);

  private final int code;

  InternalFailure(int code) {
    this.code = code;
  }

  public ReplyException reply() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code, name().toLowerCase());
  }

  /** Whether a failed request was answered with this failure. */
  public boolean is(Throwable failure) {
    return failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
        && reply.failureCode() == code;
  }
}
