/**
 * Progress of a run on stderr (stdout carries the table): a bar with an ETA on
 * a terminal, one plain line per case elsewhere (CI logs, pipes, tests), since
 * a redrawn bar is noise in a log file.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  start(totalCases: number): void;
  caseStarted(label: string): void;
  caseDone(label: string, summary: string): void;
  note(message: string): void;
  stop(): void;
}

class BarProgress implements Progress {
  private readonly bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {value}/{total} cases | ETA {eta_formatted} | {label}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );

  start(totalCases: number): void {
    this.bar.start(totalCases, 0, { label: '' });
  }

  caseStarted(label: string): void {
    this.bar.update({ label });
  }

  caseDone(_label: string, _summary: string): void {
    this.bar.increment();
  }

  note(message: string): void {
    // cli-progress redraws over the current line; a note goes above the bar.
    process.stderr.write(`\r\x1b[K${message}\n`);
    this.bar.render();
  }

  stop(): void {
    this.bar.stop();
  }
}

class LineProgress implements Progress {
  private total = 0;
  private done = 0;

  start(totalCases: number): void {
    this.total = totalCases;
    process.stderr.write(`running ${totalCases} cases\n`);
  }

  caseStarted(_label: string): void {}

  caseDone(label: string, summary: string): void {
    this.done++;
    process.stderr.write(`[${this.done}/${this.total}] ${label}: ${summary}\n`);
  }

  note(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  stop(): void {}
}

export function createProgress(isTTY: boolean = process.stderr.isTTY === true): Progress {
  return isTTY ? new BarProgress() : new LineProgress();
}
