import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, isAppUrl } from '../../src-main/app/security.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../paths.js';

const PAGE = 'file:///opt/app/out/renderer/index.html';

describe('app security policy', () => {
  it('recognises only our page (and the dev server in development)', () => {
    expect(isAppUrl(PAGE, PAGE)).toBe(true);
    expect(isAppUrl(PAGE + '#x', PAGE)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', PAGE)).toBe(false);
    expect(isAppUrl('https://example.org/', PAGE)).toBe(false);
    expect(isAppUrl('not a url', PAGE)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', PAGE)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', PAGE, 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', PAGE, 'http://localhost:5173')).toBe(false);
  });

  it('has a CSP without inline or eval scripts and without network access', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
  });

  it('the page carries the same policy in its meta tag', () => {
    const html = readFileSync(resolve(ROOT, 'src-renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
    expect(meta).not.toBeNull();
    for (const directive of CONTENT_SECURITY_POLICY.split('; ').filter((d) => !d.startsWith('frame-ancestors'))) {
      expect(meta![1]).toContain(directive);
    }
  });
});
