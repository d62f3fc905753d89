import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * Security headers, a strict content security policy included (the web app and /docs load no inline
 * scripts). A request that came over plain HTTP gets no `upgrade-insecure-requests` (on a LAN address
 * the browser would fetch every script from an HTTPS that is not there: a blank page), no
 * `Strict-Transport-Security` and no `Cross-Origin-Opener-Policy`. `request.protocol` honours
 * X-Forwarded-Proto from the proxies TRUST_PROXY trusts.
 * Both middlewares are built once here; @fastify/helmet built one again for every request.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const overHttps = helmet();
  const overPlainHttp = helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    strictTransportSecurity: false,
    // Browsers ignore it on an untrustworthy origin, with a console error on every page.
    crossOriginOpenerPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    const headers = request.protocol === 'https' ? overHttps : overPlainHttp;
    headers(request.raw, reply.raw, () => done());
  });
}
