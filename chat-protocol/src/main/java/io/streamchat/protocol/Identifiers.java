package io.streamchat.protocol;

import java.util.regex.Pattern;

/** The protocol's identifier formats. */
public final class Identifiers {

  private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern CLIENT_MESSAGE_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
  private static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9_.@:-]{1,128}");

  private Identifiers() {
  }

  public static boolean isSessionId(String value) {
    return value != null && SESSION_ID.matcher(value).matches();
  }

  public static boolean isClientMessageId(String value) {
    return value != null && CLIENT_MESSAGE_ID.matcher(value).matches();
  }

  public static boolean isUserId(String value) {
    return value != null && USER_ID.matcher(value).matches();
  }
}
