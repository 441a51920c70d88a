/** Where one producer batch (a producer id and its sequence number) landed in the log. */
export interface ProducerBatch {
  producerId: number;
  sequence: number;
  baseOffset: number;
  lastOffset: number;
}

const MAX_SEQUENCES_PER_PRODUCER = 64;
const MAX_BATCHES = 20_000;

/**
 * Recent producer batches of one partition replica, so that a retried
 * produce whose first attempt was appended is answered with the original
 * offsets instead of being appended twice (Kafka's idempotent producer, in a
 * smaller form: state lives in memory and travels to followers in fetch
 * responses rather than in the batch header, whose format the log owns).
 * A replica that became leader knows the batches it fetched while following,
 * which are exactly the ones a producer may still be retrying.
 */
export class ProducerStateTable {
  private readonly byProducer = new Map<number, Map<number, ProducerBatch>>();
  private readonly byOffset = new Map<number, ProducerBatch>();

  get size(): number {
    return this.byOffset.size;
  }

  find(producerId: number, sequence: number): ProducerBatch | undefined {
    return this.byProducer.get(producerId)?.get(sequence);
  }

  record(batch: ProducerBatch): void {
    let sequences = this.byProducer.get(batch.producerId);
    if (sequences === undefined) {
      sequences = new Map();
      this.byProducer.set(batch.producerId, sequences);
    }
    sequences.set(batch.sequence, batch);
    if (sequences.size > MAX_SEQUENCES_PER_PRODUCER) sequences.delete(sequences.keys().next().value!);
    this.byOffset.set(batch.baseOffset, batch);
    if (this.byOffset.size > MAX_BATCHES) this.forget(this.byOffset.values().next().value!);
  }

  /** The log was truncated at `offset`: batches at or past it are gone. */
  truncate(offset: number): void {
    for (const batch of [...this.byOffset.values()]) if (batch.baseOffset >= offset) this.forget(batch);
  }

  /** The known batches among `baseOffsets`, as the fetch response's `producerBatches` field. */
  encodeFor(baseOffsets: readonly number[]): string {
    const parts: string[] = [];
    for (const offset of baseOffsets) {
      const b = this.byOffset.get(offset);
      if (b !== undefined) parts.push(`${b.baseOffset}:${b.lastOffset}:${b.producerId}:${b.sequence}`);
    }
    return parts.join(',');
  }

  /** Records the batches a leader described in a fetch response. Malformed entries are skipped. */
  learn(encoded: string): void {
    if (encoded === '') return;
    for (const part of encoded.split(',')) {
      const [baseOffset, lastOffset, producerId, sequence] = part.split(':').map(Number);
      if (
        [baseOffset, lastOffset, producerId, sequence].some(
          (n) => n === undefined || !Number.isSafeInteger(n),
        )
      )
        continue;
      this.record({
        baseOffset: baseOffset!,
        lastOffset: lastOffset!,
        producerId: producerId!,
        sequence: sequence!,
      });
    }
  }

  private forget(batch: ProducerBatch): void {
    this.byOffset.delete(batch.baseOffset);
    const sequences = this.byProducer.get(batch.producerId);
    if (sequences?.get(batch.sequence) === batch) sequences.delete(batch.sequence);
    if (sequences?.size === 0) this.byProducer.delete(batch.producerId);
  }
}
