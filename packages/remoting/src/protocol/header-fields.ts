/** The fields a remoting header carries, whatever its serialization (RocketMQ's RemotingCommand fields). */
export interface HeaderFields {
  /** Request code (what to do) or response code (how it went); int16 in the binary header. */
  code: number;
  /** {@link LanguageCode} of the sender; one unsigned byte in the binary header. */
  language: number;
  /** Sender's RocketMQ version number (MQVersion ordinal); int16 in the binary header. */
  version: number;
  /** Request id (int32): a response carries its request's opaque unchanged. */
  opaque: number;
  /** Bit 0 set: a response ({@link RpcFlag}.RESPONSE); bit 1 set: a oneway request. */
  flag: number;
  /** Free text, mostly the reason of an error response; null when absent. */
  remark: string | null;
  /** String-to-string header entries (custom headers are encoded here); null when absent. */
  extFields: Map<string, string> | null;
}
