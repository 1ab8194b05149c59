package io.streamchat.ai;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * An incremental Server-Sent Events parser. Bytes may arrive split anywhere, even inside a
 * multi-byte character; lines end in LF, CRLF or CR. Each complete event's data (its {@code data:}
 * lines joined by LF) goes to the consumer; comments and other fields are ignored.
 */
final class SseParser {

  private final Consumer<String> onData;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
  private final StringBuilder data = new StringBuilder();
  private boolean hasData;
  private boolean afterCr;

  SseParser(Consumer<String> onData) {
    this.onData = onData;
  }

  void feed(byte[] bytes) {
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      byte b = bytes[i];
      if (b != '\n' && b != '\r') {
        continue;
      }
      if (b == '\n' && afterCr && i == start) {
        // the LF of a CRLF, perhaps split across two reads
        afterCr = false;
        start = i + 1;
        continue;
      }
      line.write(bytes, start, i - start);
      endLine();
      afterCr = b == '\r';
      start = i + 1;
    }
    if (start < bytes.length) {
      line.write(bytes, start, bytes.length - start);
      afterCr = false;
    }
  }

  /** The stream ended: a last event not followed by a blank line still counts. */
  void end() {
    if (line.size() > 0) {
      endLine();
    }
    dispatch();
  }

  private void endLine() {
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (text.isEmpty()) {
      dispatch();
      return;
    }
    if (text.startsWith(":")) {
      return;
    }
    int colon = text.indexOf(':');
    String field = colon < 0 ? text : text.substring(0, colon);
    String value = colon < 0 ? "" : text.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    if ("data".equals(field)) {
      if (hasData) {
        data.append('\n');
      }
      data.append(value);
      hasData = true;
    }
  }

  private void dispatch() {
    if (hasData) {
      String event = data.toString();
      data.setLength(0);
      hasData = false;
      onData.accept(event);
    }
  }
}
