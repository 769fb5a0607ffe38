// Sign in with an API token: a wrong one is refused at the field, the
// right one is kept for the tab only (sessionStorage), sign-out forgets it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn } from './harness.mjs';

let c, ctx, page;
before(async () => {
	c = await startCorrald();
	ctx = await launch();
	page = await newPage(ctx);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('an unknown token is refused at the field', async () => {
	await page.goto(c.url + '/ui/');
	await page.fill('#token', 'corral_not-a-real-token');
	await page.click('#signin-btn');
	await page.waitForSelector('#token[aria-invalid="true"]');
	const err = await page.textContent('#token-err');
	assert.match(err, /does not know this token/);
	assert.equal(await page.isHidden('#top'), true);
	assert.equal(await page.evaluate(() => sessionStorage.getItem('corral.token')), null);
});

test('an admin token signs in, lives in sessionStorage only, and survives a reload', async () => {
	await signIn(page, c);
	await page.waitForSelector('#node-count');
	assert.equal(await page.isHidden('#ro-badge'), true, 'admin is not read-only');
	assert.equal(await page.isHidden('#ro-banner'), true);
	assert.equal(await page.evaluate(() => sessionStorage.getItem('corral.token')), c.admin);
	assert.equal(await page.evaluate(() => localStorage.length), 0);
	assert.equal(await page.evaluate(() => document.cookie), '');
	await page.reload();
	await page.waitForSelector('#top:not([hidden])');
	await page.waitForSelector('#live[data-state="live"]');
	assert.equal(await page.textContent('h1'), 'Nodes');
	assert.deepEqual(page.errors, []);
});

test('sign out forgets the token', async () => {
	await page.click('#signout');
	await page.waitForSelector('#signin-form');
	assert.equal(await page.evaluate(() => sessionStorage.getItem('corral.token')), null);
	await page.reload();
	await page.waitForSelector('#signin-form');
	assert.deepEqual(page.errors, []);
});

test('a revoked token sends the page back to sign-in', async () => {
	const tok = c.tokenCreate('short-lived');
	await signIn(page, c, tok);
	c.run('token', 'rm', 'short-lived');
	await page.reload();
	await page.waitForSelector('#signin-form');
	assert.match(await page.textContent('#token-err'), /not accepted/);
});
