/** How figures are written, the same in the terminal, the HTML and the progress lines. */

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** 1234567 → "1,234,567". */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatRate(perSec: number): string {
  return `${formatInteger(perSec)}/s`;
}

/** 45123 → "45.1k", 1234567 → "1.23M": for min–max ranges where width matters more than digits. */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return value.toPrecision(3).replace(/\.?0+$/, '');
}

/** A ratio as "0.85×"; "—" when either side is missing. */
export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`;
}

export function formatMicros(us: number | null): string {
  return us === null ? '—' : formatInteger(us);
}
