import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '../support/cli.ts';

/** Debian's Chromium, with the flags that make it start quickly and quietly in a container (stack.md). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.DIALIN_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
}


/**
 * Where screenshots go: docs/screenshots when DIALIN_SCREENSHOTS=1 (to refresh the committed
 * ones), else a temporary folder, so an ordinary test run leaves the repository untouched.
 */
export function screenshotDir(): string {
  const dir = process.env.DIALIN_SCREENSHOTS === '1' ? path.join(ROOT, 'docs/screenshots') : fs.mkdtempSync(path.join(os.tmpdir(), 'dialin-shots-'));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Collects console errors and CSP violations of a page, to assert that there are none. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return problems;
}
