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

const COMPACT_UNITS: readonly [scale: number, suffix: string][] = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * Three significant digits with a unit suffix, for min–max ranges where width
 * matters more than digits: 940 → "940", 45123 → "45.1k", 999999 → "1M",
 * 1234567 → "1.23M". Zeros are dropped only after a decimal point.
 */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return '—';
  // Rounded first, so 999,999 becomes 1M rather than "1.00e+3k".
  const rounded = Number(value.toPrecision(3));
  const abs = Math.abs(rounded);
  for (const [scale, suffix] of COMPACT_UNITS) {
    if (abs >= scale) return `${Number((rounded / scale).toPrecision(3))}${suffix}`;
  }
  return String(rounded);
}

/** A ratio as "0.85×"; "—" when either side is missing. */
export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`;
}

export function formatMicros(us: number | null): string {
  return us === null ? '—' : formatInteger(us);
}
