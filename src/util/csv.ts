/** Quotes a CSV field when it needs it (commas, quotes, line breaks), as RFC 4180 says. */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
