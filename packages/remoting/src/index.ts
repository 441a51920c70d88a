export {
  DEFAULT_MAX_FRAME_BYTES,
  LanguageCode,
  type LanguageName,
  languageFromName,
  languageName,
  ResponseCode,
  RpcFlag,
  SerializeType,
  type SerializeTypeName,
  serializeTypeName,
} from './protocol/codes.js';
export {
  type CheckedHeader,
  type CustomHeaderClass,
  HeaderField,
  type HeaderFieldOptions,
  type HeaderFieldType,
} from './protocol/custom-header.js';
export { RemotingError, RemotingHeaderError, RemotingProtocolError } from './protocol/errors.js';
export { FrameDecoder, type FrameDecoderOptions } from './protocol/frame-decoder.js';
export type { HeaderFields } from './protocol/header-fields.js';
export {
  commandDefaults,
  type DecodeOptions,
  nextOpaque,
  RemotingCommand,
} from './protocol/remoting-command.js';
