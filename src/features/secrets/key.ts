// The secrets store's key as configured: AGENTVINE_SECRETS_KEY holds 32 bytes as base64, base64url or hex.
export function parseSecretsKey(text: string): Uint8Array | null {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, /[-_]/.test(t) ? "base64url" : "base64");
  return bytes.length === 32 ? new Uint8Array(bytes) : null;
}
