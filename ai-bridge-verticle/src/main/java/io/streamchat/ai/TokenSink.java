package io.streamchat.ai;

import io.streamchat.protocol.AnswerError;

/** Where a provider puts an answer as it is produced. Called on the bridge's context only. */
interface TokenSink {

  void token(String text);

  /** The answer is complete; {@code finishReason} is the provider's ({@code stop}, {@code length}, …) or null. */
  void done(String finishReason);

  /** The provider failed; what was produced is kept. */
  void failed(AnswerError code, String message);
}
