import { acksComparison } from './acks-comparison.js';
import { controllerFailure } from './controller-failure.js';
import { durabilityUnderFire } from './durability-under-fire.js';
import { extremeCase1 } from './extreme-case-1.js';
import { extremeCase2 } from './extreme-case-2.js';
import { followerPause } from './follower-pause.js';
import type { ScenarioContext, ScenarioResult } from './scenario-kit.js';
import { seedExample } from './seed-example.js';

export interface ScenarioEntry {
  id: string;
  title: string;
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>;
}

/** The seven scenarios of `pnpm demo`, in the order the issues list them. */
export const SCENARIOS: readonly ScenarioEntry[] = [
  { id: 'seed-example', title: '1. The seed example: followers held behind', run: (ctx) => seedExample(ctx) },
  {
    id: 'acks-comparison',
    title: '2. acks=0 / 1 / all: throughput and latency',
    run: (ctx) => acksComparison(ctx),
  },
  {
    id: 'extreme-case-1',
    title: '3. Extreme case 1: min.insync=1, ISR = leader alone, leader killed, unclean election',
    run: (ctx) => extremeCase1(ctx),
  },
  {
    id: 'extreme-case-2',
    title: '4. Extreme case 2: min.insync=3 and one broker down',
    run: (ctx) => extremeCase2(ctx),
  },
  {
    id: 'durability-under-fire',
    title: '5. Durability under fire: acks=all, min.insync=2, leader SIGKILLed and restarted 5 times',
    run: (ctx) => durabilityUnderFire(ctx),
  },
  {
    id: 'follower-pause',
    title: '6. A follower paused with SIGSTOP leaves the ISR, and rejoins after SIGCONT',
    run: (ctx) => followerPause(ctx),
  },
  {
    id: 'controller-failure',
    title:
      '7. Controller failure: controller SIGKILLed, then the leader; failover once the controller restarts',
    run: (ctx) => controllerFailure(ctx),
  },
];

export type { ScenarioContext, ScenarioResult };
