package io.streamchat.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * The epoch of every stored event of a session, as Redis keeps it: "firstSeq:epoch" items,
 * comma-separated, oldest first. An event has the epoch of the last item at or before its seq.
 */
public final class EpochHistory {

  private final List<Long> firstSeqs = new ArrayList<>();
  private final List<String> epochs = new ArrayList<>();
  private final String text;

  private EpochHistory(String text) {
    this.text = text;
    for (String item : text.split(",")) {
      int colon = item.indexOf(':');
      if (colon > 0) {
        firstSeqs.add(Long.parseLong(item.substring(0, colon)));
        epochs.add(item.substring(colon + 1));
      }
    }
  }

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** A new epoch: a random name no earlier owner used. */
  public static String newEpoch() {
    return Long.toString(RANDOM.nextLong() & Long.MAX_VALUE, 36);
  }

  public static EpochHistory parse(String text) {
    return new EpochHistory(text == null ? "" : text);
  }

  /** The epoch of the event {@code seq}; the oldest epoch for a seq before every item; "" when there is none. */
  public String epochOf(long seq) {
    String epoch = epochs.isEmpty() ? "" : epochs.get(0);
    for (int i = 0; i < firstSeqs.size() && firstSeqs.get(i) <= seq; i++) {
      epoch = epochs.get(i);
    }
    return epoch;
  }

  @Override
  public String toString() {
    return text;
  }
}
