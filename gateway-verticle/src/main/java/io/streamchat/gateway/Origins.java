package io.streamchat.gateway;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * Which web pages may open sockets and call the API, by their {@code Origin} header. A request
 * without one does not come from a browser page and is not an origin question.
 */
final class Origins {

  private final List<String> allowed;
  private final boolean anyOrigin;

  Origins(List<String> allowed, boolean authenticationOn) {
    this.allowed = allowed.stream().map(origin -> origin.toLowerCase(Locale.ROOT)).toList();
    this.anyOrigin = allowed.contains("*") || (allowed.isEmpty() && !authenticationOn);
  }

  /** Whether a page of {@code origin} may call a server reached as {@code host} ({@code Host} header). */
  boolean allows(String origin, String host) {
    if (origin == null || anyOrigin) {
      return true;
    }
    // A page of the server itself is always allowed.
    return allowed.contains(origin.strip().toLowerCase(Locale.ROOT)) || sameOrigin(origin, host);
  }

  /** Whether a page of {@code origin} comes from the server reached as {@code host} ({@code Host} header). */
  static boolean sameOrigin(String origin, String host) {
    return host != null && host.equalsIgnoreCase(authorityOf(origin.strip().toLowerCase(Locale.ROOT)));
  }

  /** Whether every origin may call: {@code *} is listed, or none is and authentication is off. */
  boolean any() {
    return anyOrigin;
  }

  /** The origins listed, answered with CORS headers (every origin when {@link #any()}). */
  List<String> configured() {
    return allowed;
  }

  private static String authorityOf(String origin) {
    try {
      URI uri = URI.create(origin);
      if (uri.getHost() == null) {
        return null;
      }
      return uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
