package io.streamchat.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;

/**
 * What every client connection of a gateway reports.
 *
 * @param deliveryLatency    from a token given by the provider to its chunk written to the connection
 * @param offEventLoopWrites frames written to a connection from a thread other than its own event loop:
 *                           always 0 (invariant 3, socket writes serialized), counted so that a test and
 *                           an operator would see a path that broke it
 */
record ConnectionMeters(Timer deliveryLatency, Counter offEventLoopWrites) {
}
