package io.streamchat.ai;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An incremental Server-Sent Events parser. Bytes may arrive split anywhere, even inside a
 * multi-byte character; lines end in LF, CRLF or CR. Each complete event's data (its {@code data:}
 * lines joined by LF) goes to the handler as UTF-8 bytes, with no string made of it; comments and
 * other fields are ignored. An event larger than the bound is refused: {@link #feed} throws
 * {@link EventTooLarge} and the stream must end.
 */
final class SseParser {

  /** Takes one event's data: the first {@code length} bytes of {@code data}, valid only during the call. */
  interface DataHandler {
    void onData(byte[] data, int length);
  }

  /** An event (or a single line) over the bound. */
  static final class EventTooLarge extends RuntimeException {
    EventTooLarge(int maxEventBytes) {
      super("an event of the AI provider's stream exceeded " + maxEventBytes + " bytes", null, false, false);
    }
  }

  private static final byte[] DATA = "data".getBytes(StandardCharsets.US_ASCII);

  private final DataHandler onData;
  private final int maxEventBytes;
  private byte[] line = new byte[256];
  private int lineLength;
  private byte[] data = new byte[256];
  private int dataLength;
  private boolean hasData;
  private boolean afterCr;

  SseParser(DataHandler onData, int maxEventBytes) {
    this.onData = onData;
    this.maxEventBytes = maxEventBytes;
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
      buffer(bytes, start, i - start);
      endLine();
      afterCr = b == '\r';
      start = i + 1;
    }
    if (start < bytes.length) {
      buffer(bytes, start, bytes.length - start);
      afterCr = false;
    }
  }

  /** The stream ended: a last event not followed by a blank line still counts. */
  void end() {
    if (lineLength > 0) {
      endLine();
    }
    dispatch();
  }

  private void buffer(byte[] bytes, int from, int length) {
    if (length == 0) {
      return;
    }
    int needed = lineLength + length;
    if (needed + dataLength > maxEventBytes) {
      throw new EventTooLarge(maxEventBytes);
    }
    line = ensureCapacity(line, needed);
    System.arraycopy(bytes, from, line, lineLength, length);
    lineLength = needed;
  }

  private static byte[] ensureCapacity(byte[] array, int needed) {
    return needed <= array.length ? array : Arrays.copyOf(array, Math.max(needed, array.length * 2));
  }

  private void endLine() {
    int length = lineLength;
    lineLength = 0;
    if (length == 0) {
      dispatch();
      return;
    }
    if (line[0] == ':') {
      return;
    }
    int colon = indexOfColon(length);
    int fieldLength = colon < 0 ? length : colon;
    if (fieldLength != DATA.length || !Arrays.equals(line, 0, fieldLength, DATA, 0, DATA.length)) {
      return;
    }
    int valueStart = colon < 0 ? length : colon + 1;
    if (valueStart < length && line[valueStart] == ' ') {
      valueStart++;
    }
    int valueLength = length - valueStart;
    data = ensureCapacity(data, dataLength + 1 + valueLength);
    if (hasData) {
      data[dataLength++] = '\n';
    }
    System.arraycopy(line, valueStart, data, dataLength, valueLength);
    dataLength += valueLength;
    hasData = true;
  }

  private int indexOfColon(int length) {
    for (int i = 0; i < length; i++) {
      if (line[i] == ':') {
        return i;
      }
    }
    return -1;
  }

  private void dispatch() {
    if (hasData) {
      int length = dataLength;
      dataLength = 0;
      hasData = false;
      onData.onData(data, length);
    }
  }
}
