package io.streamchat.protocol;

/**
 * Lengths as the protocol counts them: in characters (Unicode code points), so that an emoji is
 * one character, not the two UTF-16 units Java's {@code String.length()} counts.
 */
public final class Characters {

  private Characters() {
  }

  /** Whether the text holds more than {@code max} characters. */
  public static boolean over(String text, int max) {
    return text.length() > max && text.codePointCount(0, text.length()) > max;
  }

  /** The text's first {@code max} characters, never half of a surrogate pair. */
  public static String first(String text, int max) {
    return over(text, max) ? text.substring(0, text.offsetByCodePoints(0, max)) : text;
  }
}
