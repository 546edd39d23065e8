/** owner/repo from a GitHub remote URL (https, ssh, or scp-like), or null. */
export function parseGitHubRemote(url: string): { owner: string; repo: string } | null {
  const match = /^(?:https?:\/\/(?:[^@/]+@)?github\.com\/|ssh:\/\/git@github\.com\/|git@github\.com:)([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return match ? { owner: match[1]!, repo: match[2]! } : null;
}
