import { expect, test } from 'vitest';
import { RemotingCommand } from '../src/index.js';

test('a request round-trips', () => {
  const cmd = RemotingCommand.createRequest(10);
  expect(RemotingCommand.decode(cmd.encode()).code).toBe(10);
});
