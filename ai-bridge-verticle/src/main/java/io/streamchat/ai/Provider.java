package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.Generate;

/** A source of answers. */
interface Provider {

  /** A running answer. */
  interface Generation {
    /** Stops producing at once and closes any upstream request. Idempotent. */
    void cancel();
  }

  Generation start(Generate request, TokenSink sink);

  default void close() {
  }
}
