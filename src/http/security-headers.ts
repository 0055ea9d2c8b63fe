// Security headers on every response: a same-origin-only Content-Security-Policy, no framing, no MIME
// sniffing, and HSTS once the client reached us over HTTPS.
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { isHttps } from "./client-ip.ts";

/**
 * Everything the UI loads is ours: scripts and styles are files under /assets (no inline script, no
 * style attributes; htmx runs with allowEval:false and includeIndicatorStyles:false), icons may be
 * data: URLs, and the live updates are an EventSource on the same origin.
 */
const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** A year; no includeSubDomains: the host's other subdomains are not ours to pin to HTTPS. */
export const HSTS = "max-age=31536000";

const common: Parameters<typeof secureHeaders>[0] = {
  contentSecurityPolicy: CSP,
  referrerPolicy: "same-origin",
  xFrameOptions: "DENY",
  crossOriginOpenerPolicy: "same-origin",
  // The UI uses none of these: a script injected despite the CSP gets none of them either.
  permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
};

/**
 * One middleware, both header sets built once (hono's secureHeaders precomputes the CSP string): each
 * request only picks the set with or without HSTS. `trustProxy` lets X-Forwarded-Proto say HTTPS.
 */
export function securityHeaders({ trustProxy = false } = {}): MiddlewareHandler {
  const overTls = secureHeaders({ ...common, strictTransportSecurity: HSTS });
  const overPlainHttp = secureHeaders({ ...common, strictTransportSecurity: false });
  return function securityHeaders(c, next) {
    return isHttps(c, trustProxy) ? overTls(c, next) : overPlainHttp(c, next);
  };
}
