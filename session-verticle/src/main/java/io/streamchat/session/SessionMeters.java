package io.streamchat.session;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.Metrics;
import java.util.EnumMap;
import java.util.Map;

/**
 * What one session verticle instance counts: events, answers by outcome, time to first token,
 * resumes, ownership changes, retried appends.
 */
final class SessionMeters {

  private static final String ANSWERS = "chat_answers_total";
  private static final String ANSWERS_HELP = "Answers ended, by outcome (complete.status) and error code";

  private final Metrics metrics;
  private final Map<AnswerStatus, Counter> answersWithoutError = new EnumMap<>(AnswerStatus.class);
  final Timer timeToFirstToken;
  final Counter resumesRecovered;
  final Counter resumesReset;
  final Counter leasesAcquired;
  final Counter leasesReleased;
  final Counter leasesLost;
  final Counter failovers;
  final Counter answersTruncated;
  final Counter answersContinued;
  final Counter appendRetries;
  /** Events this instance appended; read by the metrics scrape on another thread. */
  long eventsAppended;

  SessionMeters(Metrics metrics) {
    this.metrics = metrics;
    for (AnswerStatus status : AnswerStatus.values()) {
      if (status != AnswerStatus.STREAMING) {
        answersWithoutError.put(status, metrics.counter(ANSWERS, ANSWERS_HELP, "outcome", status.wire(), "error", "none"));
      }
    }
    timeToFirstToken = metrics.latency("chat_time_to_first_token",
        "From a question taken by its session's owner to the first token of its answer");
    String resumes = "Connections that came back with a cursor: the events they missed followed (recovered) or they "
        + "started over from a snapshot (reset)";
    resumesRecovered = metrics.counter("chat_resumes_total", resumes, "outcome", "recovered");
    resumesReset = metrics.counter("chat_resumes_total", resumes, "outcome", "reset");
    String leases = "Session ownership changes on this node: leases acquired, released (hand-off, idle) and lost "
        + "to a newer owner";
    leasesAcquired = metrics.counter("chat_session_leases_total", leases, "change", "acquired");
    leasesReleased = metrics.counter("chat_session_leases_total", leases, "change", "released");
    leasesLost = metrics.counter("chat_session_leases_total", leases, "change", "lost");
    failovers = metrics.counter("chat_session_failovers_total",
        "Sessions this node took over from an owner that did not hand them off (it died, hung or was cut off)");
    metrics.functionCounter("chat_events_total", "Events appended to session logs", () -> eventsAppended);
    answersTruncated = metrics.counter("chat_answers_truncated_total", "Answers ended at CHAT_MAX_ANSWER_CHARS");
    answersContinued = metrics.counter("chat_answers_continued_total",
        "Generator runs started because an answer's generator was lost (CHAT_AUTO_CONTINUE)");
    appendRetries = metrics.counter("chat_cache_append_retries_total", "Appends to Redis retried after a failure");
  }

  void answerEnded(AnswerStatus status, AnswerError errorCode) {
    if (errorCode == null) {
      answersWithoutError.get(status).increment();
    } else {
      metrics.counter(ANSWERS, ANSWERS_HELP, "outcome", status.wire(), "error", errorCode.wire()).increment();
    }
  }
}
