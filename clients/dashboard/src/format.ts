// Money stays integer minor units (bigint) end to end: shown by splitting the integer, never by
// dividing a float.
import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";

const exponents = new Map<string, number>();

function exponent(currency: string): number {
  let digits = exponents.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    exponents.set(currency, digits);
  }
  return digits;
}

export function money(minor: bigint, currency: string): string {
  const digits = exponent(currency);
  const negative = minor < 0n;
  const text = (negative ? -minor : minor).toString().padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits) || "0";
  const fraction = digits ? `.${text.slice(text.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction} ${currency}`;
}

export function time(value: Timestamp | undefined): string {
  if (!value) return "";
  return timestampDate(value).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** An enum value's name without its prefix, lower case: PaymentStatus.CAPTURED → "captured". */
export function enumName(values: Record<number, string>, value: number): string {
  return (values[value] ?? String(value)).toLowerCase();
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/** "12.50" in a currency with two decimals → 1250n; undefined when it is not such an amount.
 * Read from the digits, never through a float. */
export function parseMinor(text: string, currency: string): bigint | undefined {
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const digits = exponent(currency);
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return undefined;
  return BigInt(match[1] + fraction.padEnd(digits, "0"));
}

/** Basis points as a percentage: 300 → "3%", 250 → "2.5%". */
export function bpsPercent(bps: number): string {
  return `${(bps / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

/** "2.5" (per cent, at most two decimals) → 250 basis points; undefined when it is not such a
 * number. Read from the digits, never through a float. */
export function parseBps(text: string): number | undefined {
  const match = /^(\d{1,5})(?:\.(\d{1,2}))?$/.exec(text.trim() || "0");
  if (!match) return undefined;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/** A timestamp as the value of a datetime-local input that is read as UTC: "2026-03-01T09:30:00". */
export function utcInput(value: Timestamp | undefined): string {
  return value ? timestampDate(value).toISOString().slice(0, 19) : "";
}

/** A datetime-local input's value read as UTC; undefined when empty or not a time. */
export function parseUtcInput(text: string): Timestamp | undefined {
  const ms = Date.parse(`${text.trim()}Z`);
  return text.trim() && Number.isFinite(ms) ? timestampFromMs(ms) : undefined;
}
