import { RemotingCommand, ResponseCode } from '@remoting-ts/remoting';
import { LogError } from '../log/index.js';
import { BrokerResponseCode } from './codes.js';
import { BrokerError } from './errors.js';

/** The error answer for a failure inside a handler: broker errors keep their code; others become SYSTEM_ERROR. */
export function errorResponse(err: unknown): RemotingCommand {
  if (err instanceof BrokerError) {
    const response = RemotingCommand.createResponse(err.responseCode, err.message);
    for (const [key, value] of Object.entries(err.details)) response.addExtField(key, value);
    if (err.leaderId !== undefined) response.addExtField('leaderId', String(err.leaderId));
    return response;
  }
  // A damaged log is this replica's problem, not the request's: Kafka answers
  // KAFKA_STORAGE_ERROR, which clients retry after refreshing metadata.
  if (err instanceof LogError && err.code === 'LOG_CORRUPT_BATCH') {
    return RemotingCommand.createResponse(BrokerResponseCode.STORAGE_ERROR, err.message);
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return RemotingCommand.createResponse(ResponseCode.SYSTEM_ERROR, message);
}

/** The client-side error for a non-success answer. */
export function responseError(response: RemotingCommand, what: string): BrokerError {
  const leaderText = response.getExtField('leaderId');
  const leaderId = leaderText === undefined ? undefined : Number(leaderText);
  const details: Record<string, string> = {};
  for (const [k, v] of response.extFields ?? []) details[k] = v;
  return new BrokerError(response.code, `${what}: ${response.remark ?? `response code ${response.code}`}`, {
    ...(leaderId === undefined ? {} : { leaderId }),
    details,
  });
}

export function successResponse(): RemotingCommand {
  return RemotingCommand.createResponse(ResponseCode.SUCCESS);
}
