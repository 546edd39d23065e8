import { ConfigurationError } from '../errors.js';

/**
 * Where selfscope's git egress may go: the configured GitHub web base (`github.webUrl`,
 * https; http only on a loopback host, for a local test server) and one repository on it.
 * Everything here is computed from selfscope's configuration; the repository's own git
 * configuration never names the host, the URL or a proxy.
 */

export const DEFAULT_WEB_URL = 'https://github.com';

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Why a web base is not acceptable, or null when it is. */
export function webUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.username || url.password) return 'credentials do not belong in the URL (the token comes from GITHUB_TOKEN)';
  if (url.search || url.hash) return 'no query or fragment';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return null;
  return url.protocol === 'http:' ? 'http:// is allowed only for a loopback host (127.0.0.1, ::1, localhost)' : 'must be https://';
}

/** The validated web base, without a trailing slash. */
export function githubWebBase(value: string | undefined): URL {
  const raw = value ?? DEFAULT_WEB_URL;
  const problem = webUrlProblem(raw);
  if (problem) throw new ConfigurationError(`github.webUrl is not usable: ${problem}.`, { hint: `Use the https base of the GitHub server, e.g. ${DEFAULT_WEB_URL} or https://github.example.com for GitHub Enterprise.` });
  const url = new URL(raw);
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export function isRepositoryName(name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..';
}

/** `https://<web base>/<owner>/<repo>.git`: the only URL selfscope pushes to. */
export function githubPushUrl(web: URL, owner: string, repo: string): string {
  if (!isRepositoryName(owner) || !isRepositoryName(repo)) {
    throw new ConfigurationError('github.owner and github.repo must be plain GitHub names.', { hint: 'Letters, digits, "-", "_" and "." only, e.g. "owner": "volpe", "repo": "clanky".' });
  }
  const base = `${web.protocol}//${web.host}${web.pathname.replace(/\/+$/, '')}`;
  return `${base}/${owner}/${repo.replace(/\.git$/, '')}.git`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * owner/repo from a GitHub remote URL (https, ssh, or scp-like) on `host` (default
 * github.com), or null. Only the names are used: selfscope never pushes to the URL itself.
 */
export function parseGitHubRemote(url: string, host = 'github.com'): { owner: string; repo: string } | null {
  const h = escapeRegExp(host.toLowerCase());
  const match = new RegExp(`^(?:https?://(?:[^@/]+@)?${h}/|ssh://git@${h}(?::\\d+)?/|git@${h}:)([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\\.git)?/?$`, 'i').exec(url.trim());
  if (!match || !isRepositoryName(match[1]!) || !isRepositoryName(match[2]!)) return null;
  return { owner: match[1]!, repo: match[2]! };
}
