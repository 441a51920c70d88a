import { describe, expect, test } from 'vitest';
import { RemotingCommand, type RequestContext, RequestMapping, ResponseCode } from '../src/index.js';
import { gate, newClient, startServer } from './helpers/servers.js';

const Code = { GREET: 30, SLOW: 31, WHO: 32 } as const;

class GreetingController {
  busy = false;
  calls: string[] = [];
  /** SLOW holds its answer until this opens. */
  readonly slowMayFinish = gate();
  constructor(private readonly greeting: string) {}

  @RequestMapping(Code.GREET)
  greet(_ctx: RequestContext, request: RemotingCommand): RemotingCommand {
    this.calls.push('greet');
    return RemotingCommand.createResponse(
      ResponseCode.SUCCESS,
      `${this.greeting}, ${request.body?.toString()}`,
    );
  }

  @RequestMapping(Code.SLOW, { concurrency: 1, queueCapacity: 0 })
  async slow(): Promise<RemotingCommand> {
    this.calls.push('slow');
    await this.slowMayFinish.opened;
    return RemotingCommand.createResponse(ResponseCode.SUCCESS, 'slow done');
  }

  @RequestMapping(Code.WHO)
  who(ctx: RequestContext): RemotingCommand {
    return RemotingCommand.createResponse(ResponseCode.SUCCESS, ctx.remoteAddress);
  }

  rejectRequest(): boolean {
    return this.busy;
  }
}

describe('@RequestMapping controllers', () => {
  test('each decorated method handles its code, with the controller as `this`', async () => {
    const { server, address } = await startServer();
    const controller = new GreetingController('hello');
    server.registerController(controller);
    const client = newClient();
    const greet = await client.invokeSync(
      address,
      RemotingCommand.createRequest(Code.GREET).setBody('ada'),
      3000,
    );
    expect(greet.code).toBe(0);
    expect(greet.remark).toBe('hello, ada');
    const who = await client.invokeSync(address, RemotingCommand.createRequest(Code.WHO), 3000);
    expect(who.remark).toBe(server.connections()[0]?.remoteAddress);
    // A code the controller does not map is still unsupported.
    const other = await client.invokeSync(address, RemotingCommand.createRequest(33), 3000);
    expect(other.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    expect(controller.calls).toEqual(['greet']);
  });

  test('per-method executor options bound that method only', async () => {
    const { server, address } = await startServer();
    const controller = new GreetingController('hi');
    server.registerController(controller);
    const client = newClient();
    await client.invokeSync(address, RemotingCommand.createRequest(Code.GREET).setBody('warm-up'), 3000);
    // The one SLOW that runs holds its slot until the other two have been refused.
    let refused = 0;
    const slow = Array.from({ length: 3 }, () =>
      client.invokeAsync(address, RemotingCommand.createRequest(Code.SLOW), 60_000).then((response) => {
        if (response.code === ResponseCode.SYSTEM_BUSY && ++refused === 2) controller.slowMayFinish.open();
        return response;
      }),
    );
    // GREET has the default executor: many at once are all served while SLOW is saturated.
    const greets = Array.from({ length: 20 }, (_, i) =>
      client.invokeAsync(address, RemotingCommand.createRequest(Code.GREET).setBody(String(i)), 3000),
    );
    const slowResponses = await Promise.all(slow);
    const greetResponses = await Promise.all(greets);
    expect(slowResponses.map((r) => r.code).sort()).toEqual([0, 2, 2]);
    for (const r of slowResponses.filter((r) => r.code === 2)) {
      expect(r.remark).toBe('[OVERLOAD]system busy, start flow control for a while');
    }
    expect(greetResponses.every((r) => r.code === 0)).toBe(true);
    expect(controller.calls.filter((c) => c === 'slow')).toHaveLength(1);
  });

  test("the controller's rejectRequest() refuses every one of its codes with SYSTEM_BUSY", async () => {
    const { server, address } = await startServer();
    const controller = new GreetingController('hey');
    server.registerController(controller);
    const client = newClient();
    controller.busy = true;
    for (const code of [Code.GREET, Code.SLOW, Code.WHO]) {
      const response = await client.invokeSync(address, RemotingCommand.createRequest(code), 3000);
      expect(response.code).toBe(ResponseCode.SYSTEM_BUSY);
      expect(response.remark).toBe('[REJECTREQUEST]system busy, start flow control for a while');
    }
    expect(controller.calls).toEqual([]);
    controller.busy = false;
    const ok = await client.invokeSync(address, RemotingCommand.createRequest(Code.GREET).setBody('x'), 3000);
    expect(ok.remark).toBe('hey, x');
  });

  test('a controller with no @RequestMapping methods is refused at registration', async () => {
    const { server } = await startServer();
    class Empty {
      handle(): void {}
    }
    expect(() => server.registerController(new Empty())).toThrow(/Empty has no @RequestMapping methods/);
  });

  test('a client can register a controller too, for requests the server sends it', async () => {
    const { server, address } = await startServer();
    server.registerController(new GreetingController('srv'));
    const client = newClient();
    client.registerController(new GreetingController('from client'));
    await client.invokeSync(address, RemotingCommand.createRequest(Code.GREET).setBody('x'), 3000);
    const channel = server.connections()[0];
    if (channel === undefined) throw new Error('no connection');
    const response = await server.invokeSync(
      channel,
      RemotingCommand.createRequest(Code.GREET).setBody('srv'),
      3000,
    );
    expect(response.remark).toBe('from client, srv');
  });
});
