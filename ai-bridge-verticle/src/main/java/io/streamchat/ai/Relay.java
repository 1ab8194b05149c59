package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.TokensTaken;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.client.SessionClient;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.TokenAck;
import io.streamchat.protocol.WallClock;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries one answer from its provider to the session owner, in order, and keeps every token
 * until the owner reports the answer's end stored.
 *
 * <p>Two modes. Until an owner has answered, and again after any doubt, the relay <em>synchronises</em>:
 * one request at a time, through {@link SessionClient} (which finds or activates the owner), whose
 * reply says how far the owner is. Once an owner has answered, tokens <em>stream</em> to it as plain
 * sends, with no reply and no timer each; the owner acknowledges them in bulk ({@link TokensTaken},
 * a few times a second). A send that is lost, an owner that died or one that moved shows up as
 * acknowledgements that stop coming or come from a newer owner (a higher fencing token): the relay
 * then goes back to synchronising from what the owner has. The answer's end always goes as a request.
 * While the provider is silent it sends an empty request every {@link #KEEP_ALIVE_MS}, so that the
 * owner knows the generator lives and the relay learns soon when the owner is gone.
 *
 * <p>A continuation's tokens are numbered from the answer's chunk count when it started
 * ({@code base}); inside the relay they count from 0. An owner that answers with another run of
 * the generator in mind (a {@code -1} index) has replaced this one: the relay stops.
 */
final class Relay implements TokenSink {

  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);
  private static final int MAX_BATCH = 256;
  /** Tokens streamed and not yet acknowledged before the relay waits for the owner. */
  private static final int WINDOW = 4096;
  static final long KEEP_ALIVE_MS = 1000;

  private final Vertx vertx;
  private final SessionClient sessions;
  private final Runnable onFinished;
  private final String bridgeAddress;
  private final long deliveryTimeoutMs;
  private final long giveUpMs;
  final String sessionId;
  final String messageId;
  /** The answer's chunk index of this relay's first token. */
  private final int base;
  /** Which run of a generator for the answer this is (a continuation is a new run). */
  final long run;
  private final List<String> tokens = new ArrayList<>();
  Provider.Generation generation;
  /** The owner has taken tokens [0, acked). */
  private int acked;
  /** Tokens [0, sent) went to the current owner. */
  private int sent;
  /** The current owner takes tokens as plain sends. */
  private boolean streaming;
  /** When the oldest unacknowledged streamed token was sent; 0 when every sent token is acknowledged. */
  private long unackedSinceMs;
  private boolean requestInFlight;
  private boolean retryScheduled;
  private int failures;
  private boolean ended;
  private AnswerStatus status;
  private AnswerError errorCode;
  private String errorMessage;
  private String finishReason;
  private boolean endAccepted;
  private boolean finished;
  /** The newest owner's fencing token: acknowledgements from an older owner do not count. */
  private long ownerFence;
  private long lastSentMs = System.currentTimeMillis();
  /** When the provider gave the newest token ({@link WallClock#micros()}). */
  private long lastTokenMicros;
  private long firstFailureMs;

  Relay(Vertx vertx, SessionClient sessions, String sessionId, String messageId, int base, long run, long ownerFence,
        String bridgeAddress, long deliveryTimeoutMs, long giveUpMs, Runnable onFinished) {
    this.ownerFence = ownerFence;
    this.vertx = vertx;
    this.sessions = sessions;
    this.sessionId = sessionId;
    this.messageId = messageId;
    this.base = base;
    this.run = run;
    this.bridgeAddress = bridgeAddress;
    this.deliveryTimeoutMs = deliveryTimeoutMs;
    this.giveUpMs = giveUpMs;
    this.onFinished = onFinished;
  }

  /**
   * Called periodically: streamed tokens that the owner has not acknowledged in time are sent again
   * by request; a silent answer still tells its owner it is alive; an ended one tells its end again
   * until the owner reports it stored, so that a new owner learns it after a crash.
   */
  void keepAlive() {
    long now = System.currentTimeMillis();
    if (finished || requestInFlight || retryScheduled) {
      return;
    }
    if (streaming && unackedSinceMs > 0 && now - unackedSinceMs > deliveryTimeoutMs) {
      resynchronise();
      return;
    }
    if (now - lastSentMs < KEEP_ALIVE_MS) {
      return;
    }
    if (!ended) {
      request(tokensFrom(sent, List.of()));
    } else if (endAccepted) {
      request(generationEnded());
    }
  }

  @Override
  public void token(String text) {
    if (!ended && !finished) {
      tokens.add(text);
      lastTokenMicros = WallClock.micros();
      pump();
    }
  }

  @Override
  public void done(String finishReason) {
    this.finishReason = finishReason;
    end(AnswerStatus.COMPLETED, null, null);
  }

  @Override
  public void failed(AnswerError code, String message) {
    end(AnswerStatus.FAILED, code, message);
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

  /** The owner's bulk acknowledgement of streamed tokens. */
  void taken(TokensTaken taken) {
    if (finished || taken.fence() < ownerFence) {
      return;
    }
    failures = 0;
    if (!taken.streaming()) {
      settle(taken.nextIndex());
      return;
    }
    int next = taken.nextIndex() - base;
    if (taken.fence() > ownerFence) {
      // A new owner: it has what it has; stream the rest again from there.
      ownerFence = taken.fence();
      startStreamingFrom(next);
      return;
    }
    if (next > acked) {
      acked = Math.min(next, tokens.size());
      unackedSinceMs = acked < sent ? System.currentTimeMillis() : 0;
    }
    pump();
  }

  boolean endAccepted() {
    return endAccepted;
  }

  long ownerFence() {
    return ownerFence;
  }

  private void end(AnswerStatus status, AnswerError code, String message) {
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
    if (requestInFlight || retryScheduled || finished) {
      return;
    }
    if (!streaming) {
      if (acked < tokens.size()) {
        request(tokensFrom(acked, batch(acked)));
      } else if (ended && !endAccepted) {
        request(generationEnded());
      }
      return;
    }
    while (sent < tokens.size() && sent - acked < WINDOW) {
      List<String> batch = batch(sent);
      sessions.send(sessionId, tokensFrom(sent, batch));
      lastSentMs = System.currentTimeMillis();
      if (unackedSinceMs == 0) {
        unackedSinceMs = lastSentMs;
      }
      sent += batch.size();
    }
    if (ended && !endAccepted && sent == tokens.size()) {
      // Sent after the last tokens, so it reaches the owner after them.
      request(generationEnded());
    }
  }

  private Tokens tokensFrom(int from, List<String> batch) {
    boolean newest = from + batch.size() == tokens.size();
    return new Tokens(messageId, base + from, batch, bridgeAddress, run, newest ? lastTokenMicros : 0);
  }

  private GenerationEnded generationEnded() {
    return new GenerationEnded(messageId, base + tokens.size(), status, errorCode, errorMessage, finishReason, run);
  }

  private List<String> batch(int from) {
    return List.copyOf(tokens.subList(from, Math.min(tokens.size(), from + MAX_BATCH)));
  }

  private void request(SessionCommand command) {
    requestInFlight = true;
    lastSentMs = System.currentTimeMillis();
    sessions.<TokenAck>request(sessionId, command).onComplete(this::replied);
  }

  private void replied(AsyncResult<TokenAck> result) {
    requestInFlight = false;
    if (finished) {
      return;
    }
    if (result.failed()) {
      streaming = false;
      retryLater(result.cause().toString());
      return;
    }
    TokenAck ack = result.result();
    if (ack.fence() < ownerFence) {
      streaming = false;
      retryLater("a replaced owner answered");
      return;
    }
    failures = 0;
    ownerFence = ack.fence();
    if (!ack.streaming()) {
      settle(ack.nextIndex());
      return;
    }
    startStreamingFrom(ack.nextIndex() - base);
  }

  /** The owner no longer streams this answer: it has its end (a known total), or it dropped it. */
  private void settle(int total) {
    if (ended && total >= 0) {
      endAccepted = true;
      streaming = false;
      return;
    }
    stop();
  }

  private void startStreamingFrom(int nextIndex) {
    if (nextIndex < 0) {
      // The owner holds fewer chunks than this run started from (a new owner lost some that were
      // not stored yet): this run cannot fill the gap; the owner goes on with a run of its own.
      stop();
      return;
    }
    endAccepted = false;
    acked = Math.max(0, Math.min(nextIndex, tokens.size()));
    sent = acked;
    unackedSinceMs = 0;
    streaming = true;
    pump();
  }

  /** Streamed tokens went unacknowledged: ask the owner of the moment how far it is. */
  private void resynchronise() {
    streaming = false;
    sent = acked;
    unackedSinceMs = 0;
    pump();
  }

  /**
   * The owner of the moment could not be reached: again, with backoff, until it can or until the
   * give-up time has passed (by then an owner has ended the answer {@code interrupted}).
   */
  private void retryLater(String reason) {
    long now = System.currentTimeMillis();
    if (failures++ == 0) {
      firstFailureMs = now;
      LOG.atWarn().addKeyValue("session_id", sessionId)
          .log("Session {}: answer {} could not be delivered to the session's owner ({}); trying again", sessionId,
              messageId, reason);
    } else if (now - firstFailureMs > giveUpMs) {
      LOG.atWarn().addKeyValue("session_id", sessionId)
          .log("Session {}: answer {} had no reachable owner for {} ms; it is stopped", sessionId, messageId,
              now - firstFailureMs);
      stop();
      return;
    }
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
