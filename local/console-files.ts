import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

/**
 * The web console's static files (local/console/, built into dist/console/ by local/console/build.mjs),
 * as the local server serves them beside the API: `GET /` is its page, `/assets/*` its script and
 * stylesheet. Only files inside the folder are served (no `..`, no encoded separators, no dot files);
 * anything else is left to the caller, which answers 404 as for any unknown path.
 */

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The folder's file for a URL path, or undefined when the path names none it may serve. */
export function consoleFile(root: string, pathname: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return join(root, 'index.html');
  if (!pathname.startsWith('/assets/')) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const segments = decoded.slice(1).split('/');
  if (segments.some((s) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0')))
    return undefined;
  const file = resolve(root, ...segments);
  return file.startsWith(`${resolve(root)}${sep}`) && TYPES[extname(file)] ? file : undefined;
}

/**
 * Answers a GET or HEAD for one of the console's files; false when the request is not for one (or
 * the console is not built), so the caller answers it.
 */
export async function serveConsole(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const file = consoleFile(root, pathname);
  if (!file) return false;
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return false;
  const body = await readFile(file);
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': String(body.length),
    // The page names its assets by content hash: they never change, the page is asked for again.
    'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
    ...(file.endsWith('index.html')
      ? {
          'content-security-policy':
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        }
      : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
