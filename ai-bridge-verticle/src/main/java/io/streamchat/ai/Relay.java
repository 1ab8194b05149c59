package io.streamchat.ai;

import io.streamchat.protocol.SessionClient;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.TokenAck;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;

/**
 * Carries one answer from its provider to the session owner, in order, one request at a time
 * (tokens produced meanwhile travel together in the next one). Every token is kept until the
 * owner reports it stored; a failed delivery is retried to whoever owns the session by then, and
 * the owner drops what it already has by index. While the provider is silent it sends an empty
 * batch every {@link #KEEP_ALIVE_MS}, so that the owner knows the generator lives and the relay
 * learns soon when the owner is gone.
 */
final class Relay implements TokenSink {

  private static final int MAX_BATCH = 256;
  static final long KEEP_ALIVE_MS = 1000;

  private final Vertx vertx;
  private final SessionClient sessions;
  private final Runnable onFinished;
  private final String bridgeAddress;
  final String sessionId;
  final String messageId;
  final String userId;
  private final List<String> tokens = new ArrayList<>();
  Provider.Generation generation;
  private int delivered;
  private boolean inFlight;
  private boolean retryScheduled;
  private int failures;
  private boolean ended;
  private String status;
  private String errorCode;
  private String errorMessage;
  private boolean endAccepted;
  private boolean finished;
  /** The newest owner's fencing token: acknowledgements from an older owner do not count. */
  private long ownerFence = -1;
  private long lastSentMs = System.currentTimeMillis();

  Relay(Vertx vertx, SessionClient sessions, String sessionId, String messageId, String userId, String bridgeAddress,
        Runnable onFinished) {
    this.vertx = vertx;
    this.sessions = sessions;
    this.sessionId = sessionId;
    this.messageId = messageId;
    this.userId = userId;
    this.bridgeAddress = bridgeAddress;
    this.onFinished = onFinished;
  }

  /**
   * Called periodically: a silent answer still tells its owner it is alive; an ended one tells its
   * end again until the owner reports it stored, so that a new owner learns it after a crash.
   */
  void keepAlive() {
    if (finished || inFlight || retryScheduled || System.currentTimeMillis() - lastSentMs < KEEP_ALIVE_MS) {
      return;
    }
    if (!ended) {
      send(new Tokens(messageId, delivered, List.of(), bridgeAddress));
    } else if (endAccepted) {
      send(new GenerationEnded(messageId, tokens.size(), status, errorCode, errorMessage));
    }
  }

  @Override
  public void token(String text) {
    if (!ended && !finished) {
      tokens.add(text);
      pump();
    }
  }

  @Override
  public void done() {
    end("completed", null, null);
  }

  @Override
  public void failed(String code, String message) {
    end("failed", code, message);
  }

  /** An owner stopped the answer; one that was replaced by a newer owner is not listened to. */
  void stopFrom(long fence) {
    if (fence >= ownerFence) {
      stop();
    }
  }

  /** Stops the answer (cancel, shutdown, or its owner gave up on it). */
  void stop() {
    if (generation != null) {
      generation.cancel();
    }
    finish();
  }

  /** The owner has stored the answer's end: nothing of it needs keeping any more. */
  void answerStored() {
    finish();
  }

  boolean endAccepted() {
    return endAccepted;
  }

  /** Whether the provider is still producing this answer (it counts against the concurrency limits). */
  boolean generating() {
    return !ended && !finished;
  }

  private void end(String status, String code, String message) {
    if (ended || finished) {
      return;
    }
    ended = true;
    this.status = status;
    this.errorCode = code;
    this.errorMessage = message;
    pump();
  }

  private void pump() {
    if (inFlight || retryScheduled || finished) {
      return;
    }
    if (delivered < tokens.size()) {
      int to = Math.min(tokens.size(), delivered + MAX_BATCH);
      send(new Tokens(messageId, delivered, List.copyOf(tokens.subList(delivered, to)), bridgeAddress));
    } else if (ended && !endAccepted) {
      send(new GenerationEnded(messageId, tokens.size(), status, errorCode, errorMessage));
    }
  }

  private void send(SessionCommand command) {
    inFlight = true;
    lastSentMs = System.currentTimeMillis();
    sessions.<TokenAck>request(sessionId, command).onComplete(this::acknowledged);
  }

  private void acknowledged(AsyncResult<TokenAck> result) {
    inFlight = false;
    if (finished) {
      return;
    }
    if (result.failed()) {
      retryLater();
      return;
    }
    failures = 0;
    TokenAck ack = result.result();
    if (ack.fence() < ownerFence) {
      retryLater();
      return;
    }
    ownerFence = ack.fence();
    if (!ack.streaming()) {
      if (ended && ack.nextIndex() >= 0) {
        endAccepted = true;
        return;
      }
      stop();
      return;
    }
    endAccepted = false;
    delivered = Math.max(0, Math.min(ack.nextIndex(), tokens.size()));
    pump();
  }

  private void retryLater() {
    failures++;
    retryScheduled = true;
    long backoff = Math.min(1000, 20L << Math.min(6, failures));
    vertx.setTimer(backoff, id -> {
      retryScheduled = false;
      pump();
    });
  }

  private void finish() {
    if (!finished) {
      finished = true;
      onFinished.run();
    }
  }
}
