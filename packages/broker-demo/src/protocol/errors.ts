import { BrokerResponseCode, brokerErrorName, isRetriableCode } from './codes.js';

/**
 * An error answer from a broker or the controller. `code` is the stable
 * Kafka-style name (`NOT_LEADER`, `NOT_ENOUGH_REPLICAS`, ...), `responseCode`
 * the number on the wire; `retriable` tells a retry loop it may try again.
 */
export class BrokerError extends Error {
  readonly code: string;
  readonly responseCode: number;
  readonly retriable: boolean;
  /** For NOT_LEADER: the leader the answering broker knows of, when it knows one. */
  readonly leaderId: number | undefined;
  /** Facts for the peer's program, sent as extFields (e.g. the leader's LEO with OFFSET_OUT_OF_RANGE). */
  readonly details: Readonly<Record<string, string>>;

  /**
   * True when the broker says the request's records were appended before it
   * failed (a wait for the HW that timed out, shrank or lost leadership):
   * they may yet be committed. Sent as the `appended` detail.
   */
  get appended(): boolean {
    return this.details.appended === 'true';
  }

  constructor(
    responseCode: number,
    message: string,
    options?: { leaderId?: number; cause?: unknown; details?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.responseCode = responseCode;
    this.code = brokerErrorName(responseCode) ?? `RESPONSE_${responseCode}`;
    this.retriable = isRetriableCode(responseCode);
    this.leaderId = options?.leaderId;
    this.details = options?.details ?? {};
  }

  /** BROKER_FENCED for `what` ("acks=all produce to t-0", "metadata"), with the facts of why. */
  static brokerFenced(what: string, options?: { appended?: boolean }): BrokerError {
    return new BrokerError(
      BrokerResponseCode.BROKER_FENCED,
      `${what}: this broker's session with the cluster's coordination is not valid (it may have been ` +
        `declared dead and its partitions led elsewhere)${options?.appended === true ? '; the batch was appended before that' : ''}; ask another broker`,
      options?.appended === true ? { details: { appended: 'true' } } : undefined,
    );
  }

  static notLeader(topic: string, partition: number, leaderId: number): BrokerError {
    const who = leaderId >= 0 ? `broker ${leaderId} is` : 'no broker is';
    return new BrokerError(
      BrokerResponseCode.NOT_LEADER,
      `not the leader of ${topic}-${partition}; ${who} the leader`,
      { leaderId },
    );
  }
}

/** A command-line or configuration value that cannot be used. */
export class BrokerConfigError extends Error {
  readonly code = 'BROKER_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'BrokerConfigError';
  }
}
