import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../../src/core/logs/fingerprint.js';

const same = (a: string, b: string) => expect(fingerprint(a), `${a} ~ ${b}`).toBe(fingerprint(b));
const apart = (a: string, b: string) => expect(fingerprint(a), `${a} !~ ${b}`).not.toBe(fingerprint(b));

describe('fingerprint', () => {
  it('replaces ids of every common shape', () => {
    const cases: Array<[string, string, string]> = [
      ['Session vs_935027_e2ss not found', 'Session vs_118842_k9qd not found', 'Session vs_<id> not found'],
      ['request req_0a1b2c3d4e5f6a7b8c9d0e1f failed', 'request req_9f8e7d6c5b4a39281706f5e4 failed', 'request req_<id> failed'],
      ['request_id req_011CZ8xQmYb3v9TnP4kLwJ2a', 'request_id req_011CZAm3N4o5P6q7R8s9T0uV', 'request_id req_<id>'],
      ['Video dQw4w9WgXcQ is unavailable', 'Video aB3_x-9ZqWk is unavailable', 'Video <id> is unavailable'],
      ['user 1180000000000000003 not found', 'user 1180000000000000099 not found', 'user <id> not found'],
      ['job 123e4567-e89b-12d3-a456-426614174000 died', 'job 00000000-0000-4000-8000-000000000000 died', 'job <uuid> died'],
      ['commit 3f2a9c1d0e4b failed', 'commit 9a8b7c6d5e4f failed', 'commit <hex> failed'],
      ['fetch https://cdn.example.com/a?x=1 failed', 'fetch https://media.example.org/b/c failed', 'fetch <url> failed'],
      ['call_8 timed out after 104ms', 'call_12 timed out after 950ms', 'call_<n> timed out after <dur>'],
      ['org-AbC123xyzQ over quota', 'org-Zz9yX8wV7u over quota', 'org-<id> over quota'],
      ['ENOENT /var/data/a.json', 'ENOENT /tmp/b/c.json', 'ENOENT <path>'],
    ];
    for (const [a, b, template] of cases) {
      same(a, b);
      expect(fingerprint(a)).toBe(template);
    }
  });

  it('keeps status codes, model names, property names and error codes readable', () => {
    expect(fingerprint('429 Too Many Requests')).toBe('429 Too Many Requests');
    expect(fingerprint('Request failed with status code 503')).toBe('Request failed with status code 503');
    expect(fingerprint('upstream returned 502 Bad Gateway')).toBe('upstream returned 502 Bad Gateway');
    apart('Request failed with status code 429', 'Request failed with status code 500');
    expect(fingerprint('model claude-sonnet-4-6 overloaded, fell back to gpt-4o-mini')).toBe('model claude-sonnet-4-6 overloaded, fell back to gpt-4o-mini');
    expect(fingerprint('claude-3-5-sonnet-20241022 and gemini-2.5-flash')).toBe('claude-3-5-sonnet-20241022 and gemini-2.5-flash');
    expect(fingerprint("Cannot read properties of undefined (reading 'foo')")).toBe("Cannot read properties of undefined (reading 'foo')");
    apart("Cannot read properties of undefined (reading 'foo')", "Cannot read properties of undefined (reading 'bar')");
    expect(fingerprint('ERR_HTTP2_STREAM_ERROR on an utf8 stream')).toBe('ERR_HTTP2_STREAM_ERROR on an utf8 stream');
  });

  it('replaces numbers that are counts or positions, not codes', () => {
    same('Unexpected token < in JSON at position 512', 'Unexpected token < in JSON at position 404');
    same('queue has 450 items', 'queue has 12 items');
    same('gateway_shard_error: shard=3 Connection reset by peer', 'gateway_shard_error: shard=7 Connection reset by peer');
  });

  it('reads an API error body: its status, type and message, not its request id', () => {
    const body = (id: string, type = 'rate_limit_error') => `429 {"type":"error","error":{"type":"${type}","message":"Rate limited for org 5f3c2a1e-9b7d-4c11-8e2f-0a1b2c3d4e5f"},"request_id":"${id}"}`;
    expect(fingerprint(body('req_011CZ8xQmYb3v9TnP4kLwJ2a'))).toBe('429 rate_limit_error: Rate limited for org <uuid>');
    same(body('req_011CZ8xQmYb3v9TnP4kLwJ2a'), body('req_011CZ9aB4cD5eF6gH7iJ8kL9'));
    apart(body('req_1', 'rate_limit_error'), body('req_1', 'overloaded_error'));
    // Not JSON after all: read as text.
    expect(fingerprint('bad {"x": 1')).toBe('bad {"x": <n>');
  });

  it('treats quoted values as data, except what names a thing', () => {
    same('cannot read "foo"', 'cannot read "bar"');
    same('voice model "nova-9" not found', 'voice model "nova-2" not found');
    same("can't play 'Never Gonna Give You Up' now", "can't play 'Bohemian Rhapsody' now");
    expect(fingerprint('got "rate_limit_error" for "hello there"')).toBe('got "rate_limit_error" for "<str>"');
  });

  it('separates different messages', () => {
    apart('queue state undefined', 'queue is full');
    apart('gateway_shard_error: Connection reset', 'gateway_shard_error: Connection refused');
  });

  it('is bounded', () => {
    expect(fingerprint('x '.repeat(10_000)).length).toBeLessThanOrEqual(300);
    expect(fingerprint('')).toBe('');
    expect(fingerprint(null)).toBe('');
  });
});
