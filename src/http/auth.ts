import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ChatError } from '../chat/errors.js';
import type { Caller } from '../chat/session-service.js';
import { sendError } from './error-handler.js';
import { isUserId } from './schemas/common.js';

export interface AuthConfig {
  /** none: local use, the client's user_id is trusted; apikey: trusted servers; jwt: end users' tokens. */
  mode: 'none' | 'apikey' | 'jwt';
  apiKeys: string[];
  jwt: {
    secret?: string | undefined;
    jwksUrl?: string | undefined;
    issuer?: string | undefined;
    audience?: string | undefined;
    /** A token without `exp` would be valid forever: refused unless this is false. */
    requireExp?: boolean | undefined;
  };
  /** Needed for personality and universal-rules writes (always, unless mode is none and it is unset). */
  adminApiKey?: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The route changes personalities or rules: it needs the admin key instead of a user. */
    admin?: boolean;
    /** The route is a WebSocket: browsers cannot set headers there, so `?access_token=` counts too. */
    tokenInQuery?: boolean;
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
/** Compares secrets in constant time (hashing first makes the lengths equal). */
const sameSecret = (given: string, expected: string) => timingSafeEqual(sha256(given), sha256(expected));

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  if (!request.routeOptions.config.tokenInQuery) return undefined;
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/**
 * Who is calling, for every API route: sets `request.caller`, or answers 401/403. With jwt the user
 * is the token's subject and sessions of other users do not exist for them (404).
 */
export function registerAuth(api: FastifyInstance, config: AuthConfig): void {
  const verifyJwt = jwtVerifier(config);
  // Anonymous until a hook says otherwise; with nothing to check, no hook runs at all.
  const callers = new WeakMap<FastifyRequest, Caller>();
  api.decorateRequest('caller', {
    getter(this: FastifyRequest) {
      return callers.get(this) ?? ANONYMOUS;
    },
    setter(this: FastifyRequest, caller: Caller) {
      callers.set(this, caller);
    },
  });
  if (config.mode === 'none' && !config.adminApiKey) return;

  api.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.admin) return checkAdmin(config, request, reply);
    if (config.mode === 'none') return;
    if (config.mode === 'apikey') {
      const key = (request.headers['x-api-key'] as string | undefined) ?? bearer(request);
      if (!key || !config.apiKeys.some((valid) => sameSecret(key, valid))) {
        return unauthorized(reply, 'A valid API key is required (X-API-Key header or Authorization: Bearer).');
      }
      return;
    }
    const token = bearer(request);
    if (!token) return unauthorized(reply, 'Sign in first: send Authorization: Bearer <token>.');
    try {
      const { payload } = await verifyJwt!(token);
      // The subject becomes user_id everywhere: it must be one the API would accept in a body.
      if (!isUserId(payload.sub)) return unauthorized(reply, 'The token names no valid user ("sub" must be a user id).');
      request.caller = { userId: payload.sub, expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000 };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return unauthorized(reply, 'The token has expired; sign in again.');
      const noExpiry = error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing';
      return unauthorized(reply, noExpiry ? 'The token has no expiry ("exp" claim); sign in again.' : 'The token is not valid.');
    }
  });
}

/**
 * The user a request acts for, if any: the signed-in one (a different user_id is refused), or the
 * user_id the client names, or nobody in particular (no sign-in and no user_id: a trusted caller).
 */
export function viewerOf(request: FastifyRequest, userId: string | undefined): string | undefined {
  const signedIn = request.caller.userId;
  if (signedIn !== undefined && userId !== undefined && userId !== signedIn) {
    throw new ChatError('user_mismatch', 'user_id must be the signed-in user.');
  }
  return signedIn ?? userId;
}

/** The user a request acts for, which it must name when nobody is signed in. */
export function userOf(request: FastifyRequest, userId: string | undefined): string {
  const user = viewerOf(request, userId);
  if (user === undefined) throw new ChatError('user_required', 'user_id is required.');
  return user;
}

type VerifyToken = (token: string) => Promise<{ payload: JWTPayload }>;

function jwtVerifier(config: AuthConfig): VerifyToken | undefined {
  if (config.mode !== 'jwt') return undefined;
  const claims = {
    ...(config.jwt.requireExp !== false ? { requiredClaims: ['exp'] } : {}),
    ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
    ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
  };
  if (config.jwt.jwksUrl) {
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.jwt.jwksUrl));
    return (token) => jwtVerify(token, keys, claims);
  }
  const secret = new TextEncoder().encode(config.jwt.secret);
  return (token) => jwtVerify(token, secret, { ...claims, algorithms: ['HS256'] });
}

const ANONYMOUS: Caller = Object.freeze({});

async function checkAdmin(config: AuthConfig, request: FastifyRequest, reply: FastifyReply) {
  if (!config.adminApiKey) {
    if (config.mode === 'none') return;
    return sendError(reply, 403, 'forbidden', 'Personality and rules changes are turned off: the server has no ADMIN_API_KEY.');
  }
  // Only its own header: a user's bearer token is never mistaken for an (invalid) admin key.
  const key = request.headers['x-admin-key'] as string | undefined;
  if (!key) return sendError(reply, 401, 'admin_key_required', 'This change needs the admin key (X-Admin-Key header).');
  if (!sameSecret(key, config.adminApiKey)) return sendError(reply, 403, 'forbidden', 'The admin key is not valid.');
}

function unauthorized(reply: FastifyReply, message: string) {
  reply.header('www-authenticate', 'Bearer');
  return sendError(reply, 401, 'unauthorized', message);
}
