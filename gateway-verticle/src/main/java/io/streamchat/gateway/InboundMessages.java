package io.streamchat.gateway;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Assembles a socket's data frames into messages, within a size limit, and decodes text strictly:
 * a text message that is not valid UTF-8 is reported, not patched with replacement characters.
 */
final class InboundMessages {

  enum FrameKind { TEXT, BINARY, CONTINUATION }

  sealed interface Message {
  }

  record Text(String text) implements Message {
  }

  record Binary(int length) implements Message {
  }

  /** Over the size limit (close 1009). */
  record TooLarge() implements Message {
  }

  /** Text that is not UTF-8 (close 1007). */
  record NotUtf8() implements Message {
  }

  /** A continuation without a message to continue, or a new message inside a fragmented one (close 1002). */
  record OutOfSequence() implements Message {
  }

  private final int maxBytes;
  private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
  private ByteArrayOutputStream fragments;
  private boolean fragmentsAreText;

  InboundMessages(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** The message a frame completes, or null while a fragmented message is still arriving. */
  Message accept(FrameKind kind, byte[] data, boolean fin) {
    if (kind == FrameKind.CONTINUATION) {
      if (fragments == null) {
        return new OutOfSequence();
      }
      if (fragments.size() + (long) data.length > maxBytes) {
        fragments = null;
        return new TooLarge();
      }
      fragments.write(data, 0, data.length);
      if (!fin) {
        return null;
      }
      byte[] whole = fragments.toByteArray();
      fragments = null;
      return complete(fragmentsAreText, whole);
    }
    if (fragments != null) {
      fragments = null;
      return new OutOfSequence();
    }
    if (data.length > maxBytes) {
      return new TooLarge();
    }
    if (fin) {
      return complete(kind == FrameKind.TEXT, data);
    }
    fragments = new ByteArrayOutputStream(Math.min(maxBytes, data.length * 2));
    fragments.write(data, 0, data.length);
    fragmentsAreText = kind == FrameKind.TEXT;
    return null;
  }

  private Message complete(boolean text, byte[] data) {
    if (!text) {
      return new Binary(data.length);
    }
    try {
      return new Text(utf8.reset().decode(ByteBuffer.wrap(data)).toString());
    } catch (CharacterCodingException e) {
      return new NotUtf8();
    }
  }
}
