/**
 * The checks that keep `pyocyte serve` a local tool: which Host and Origin headers are accepted
 * (against DNS rebinding), the access token of a server bound beyond localhost, and resolving a
 * requested file inside the folders the server may read (no traversal, symlinks resolved).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { PyocyteError } from '../../util/errors.js';

/** An HTTP error with a status code and a message for the user (sent as JSON). */
export class HttpError extends PyocyteError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1', '[::1]'];

/** Whether a bind address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * The host names a browser may use to reach the server: the loopback names always; for a server
 * bound beyond localhost also its bind address, this machine's name and interface addresses,
 * and any names the user allowed (`--allow-host`). Lower case, without ports or brackets.
 */
export function allowedHostNames(bindHost: string, extra: readonly string[] = []): Set<string> {
  const names = new Set([...LOOPBACK_NAMES, bindHost, ...extra].map(bareHost));
  if (!isLoopbackHost(bindHost)) {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) names.add(a.address.toLowerCase());
  }
  names.delete('0.0.0.0');
  names.delete('::');
  return names;
}

/** `Example.org:8080` → `example.org`; `[::1]:80` → `::1`. */
export function bareHost(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  const colons = value.split(':').length - 1;
  return colons === 1 ? value.slice(0, value.indexOf(':')) : value;
}

/**
 * Refuses a request whose Host is not one of `allowed` (a page on another site whose name was
 * re-pointed at this machine sends its own name), and a state-changing request whose Origin is
 * another site's.
 * @throws HttpError 403 naming the header.
 */
export function checkHostAndOrigin(headers: { host?: string; origin?: string }, method: string, allowed: ReadonlySet<string>): void {
  const host = headers.host === undefined ? '' : bareHost(headers.host);
  if (!allowed.has(host)) {
    throw new HttpError(
      403,
      `refused: Host '${headers.host ?? ''}' is not this server's name; open the address pyocyte printed, or start it with --allow-host ${host || 'NAME'}`,
    );
  }
  const origin = headers.origin;
  if (origin === undefined || method === 'GET' || method === 'HEAD') return;
  let originHost: string;
  try {
    originHost = bareHost(new URL(origin).host);
  } catch {
    throw new HttpError(403, `refused: the Origin header '${origin}' is not a URL`);
  }
  if (originHost !== host) throw new HttpError(403, `refused: a page from ${origin} may not change this server's data`);
}

/** A fresh random access token (48 hex digits). */
export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** Compares a presented token with the server's in constant time. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of a request: `?token=`, `Authorization: Bearer`, or the session cookie. */
export function presentedToken(
  query: Record<string, unknown>,
  headers: { authorization?: string; cookie?: string },
  cookieName: string,
): string | undefined {
  if (typeof query.token === 'string') return query.token;
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
  if (bearer) return bearer[1];
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookieName) return value.join('=');
  }
  return undefined;
}

/** Whether `child` is `parent` or lies inside it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of `requested` (relative to `root`) when it lies inside `root` after resolving
 * `..`, encoded separators and symbolic links.
 * @throws HttpError 403 when it escapes the root, 404 when it does not exist.
 */
export async function resolveInside(root: string, requested: string): Promise<string> {
  if (requested.includes('\0')) throw new HttpError(400, 'refused: the path holds a NUL byte');
  const realRoot = await realpath(root).catch(() => {
    throw new HttpError(404, `the folder ${root} does not exist`);
  });
  const candidate = resolve(realRoot, requested);
  if (!isInside(realRoot, candidate)) throw new HttpError(403, `refused: ${requested} is outside the folders this server shows`);
  const real = await realpath(candidate).catch(() => {
    throw new HttpError(404, `${requested} does not exist`);
  });
  if (!isInside(realRoot, real)) throw new HttpError(403, `refused: ${requested} links outside the folders this server shows`);
  return real;
}
