package io.streamchat.gateway;

/**
 * The cursor of a Server-Sent Events client: its {@code Last-Event-ID}, {@code <epoch>:<seq>}. An id
 * that is not one (another server's, or garbage) is a cursor no session can serve: the client gets
 * {@code reset} and a fresh {@code history}, as for a cursor of another epoch.
 */
record EventCursor(String epoch, long seq) {

  private static final EventCursor UNSERVABLE = new EventCursor("", 0);

  /** Null when there is no id (a first connection). */
  static EventCursor parse(String lastEventId) {
    if (lastEventId == null || lastEventId.isBlank()) {
      return null;
    }
    int colon = lastEventId.lastIndexOf(':');
    if (colon <= 0) {
      return UNSERVABLE;
    }
    try {
      long seq = Long.parseLong(lastEventId.substring(colon + 1).strip());
      return seq < 0 ? UNSERVABLE : new EventCursor(lastEventId.substring(0, colon).strip(), seq);
    } catch (NumberFormatException e) {
      return UNSERVABLE;
    }
  }
}
