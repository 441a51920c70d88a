import { ACKS_COMPARISON_CONCEPT, acksComparison } from './acks-comparison.js';
import { ACKS_LOSS_CONCEPT, acksLoss } from './acks-loss.js';
import { CONTROLLER_FAILURE_CONCEPT, controllerFailure } from './controller-failure.js';
import { DURABILITY_CONCEPT, durabilityUnderFire } from './durability-under-fire.js';
import { EXTREME_1_CONCEPT, extremeCase1 } from './extreme-case-1.js';
import { EXTREME_2_CONCEPT, extremeCase2 } from './extreme-case-2.js';
import { FOLLOWER_PAUSE_CONCEPT, followerPause } from './follower-pause.js';
import type { ScenarioContext, ScenarioResult } from './scenario-kit.js';
import { SEED_CONCEPT, seedExample } from './seed-example.js';

export interface ScenarioEntry {
  id: string;
  title: string;
  /** The idea the scenario shows, in a few plain sentences (one line each), said before it runs. */
  concept: readonly string[];
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>;
}

/** The eight scenarios of `demo`: the concepts first, then what fails and what holds. */
export const SCENARIOS: readonly ScenarioEntry[] = [
  {
    id: 'seed-example',
    title: '1. The seed example: followers held behind (LEO, ISR, HW, min.insync.replicas)',
    concept: SEED_CONCEPT,
    run: (ctx) => seedExample(ctx),
  },
  {
    id: 'acks-comparison',
    title: '2. acks=0 / 1 / all: throughput and latency',
    concept: ACKS_COMPARISON_CONCEPT,
    run: (ctx) => acksComparison(ctx),
  },
  {
    id: 'acks-loss',
    title: '3. acks=0 / 1 / all: what each loses when the leader dies before replication',
    concept: ACKS_LOSS_CONCEPT,
    run: (ctx) => acksLoss(ctx),
  },
  {
    id: 'extreme-case-1',
    title: '4. Extreme case 1: min.insync=1, ISR = leader alone, leader killed, unclean election',
    concept: EXTREME_1_CONCEPT,
    run: (ctx) => extremeCase1(ctx),
  },
  {
    id: 'extreme-case-2',
    title: '5. Extreme case 2: min.insync=3 and one broker down',
    concept: EXTREME_2_CONCEPT,
    run: (ctx) => extremeCase2(ctx),
  },
  {
    id: 'durability-under-fire',
    title: '6. Durability under fire: acks=all, min.insync=2, leader SIGKILLed and restarted 5 times',
    concept: DURABILITY_CONCEPT,
    run: (ctx) => durabilityUnderFire(ctx),
  },
  {
    id: 'follower-pause',
    title: '7. A follower paused with SIGSTOP leaves the ISR, and rejoins after SIGCONT',
    concept: FOLLOWER_PAUSE_CONCEPT,
    run: (ctx) => followerPause(ctx),
  },
  {
    id: 'controller-failure',
    title:
      '8. Controller failure: controller SIGKILLed, then the leader; failover once the controller restarts',
    concept: CONTROLLER_FAILURE_CONCEPT,
    run: (ctx) => controllerFailure(ctx),
  },
];

export type { ScenarioContext, ScenarioResult };
