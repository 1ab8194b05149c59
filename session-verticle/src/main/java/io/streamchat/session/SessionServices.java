package io.streamchat.session;

import io.streamchat.protocol.DurableCommand;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;

/**
 * What the sessions of one verticle instance share: the settings, the meters, the pipelines to
 * storage, the node's admission limit and the users' quotas.
 *
 * @param durableWrites conversation changes for the durable tier, written behind live delivery; null when it is off
 */
record SessionServices(Vertx vertx, SessionSettings settings, DeliveryOptions requestOptions, SessionMeters meters,
                       AppendPipeline appends, AnswerAdmission admission, UserQuotas userQuotas,
                       WriteBehind<DurableCommand.Write> durableWrites) {
}
