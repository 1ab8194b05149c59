package io.streamchat.protocol;

import java.util.regex.Pattern;

/** Settings that hold secrets, made fit for logs. */
public final class Secrets {

  private static final Pattern URL_PASSWORD = Pattern.compile("(?<=://)([^/@:]*):[^/@]*@");

  private Secrets() {
  }

  /** The URL with the password of its user info replaced: {@code redis://app:***@host:6379}. */
  public static String maskUrl(String url) {
    return url == null ? null : URL_PASSWORD.matcher(url).replaceFirst("$1:***@");
  }
}
