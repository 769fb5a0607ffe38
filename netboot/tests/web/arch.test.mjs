// Architecture-aware boot on the node page: where the node's arch came from
// (learned from iPXE's ${buildarch}, set by hand), and, when its profile has
// no image for that arch, the reason it waits, in the facts and as the
// timeline's blocked step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, macFor, until } from './harness.mjs';

let c, ctx, page;
const ARM = 'x3000c0s9b0n0';
const MAC = macFor(0x3090);
before(async () => {
	c = await startCorrald();
	await c.seedImage('compute-x86');
	await c.ok('POST', '/profiles', { name: 'x86only', image: 'compute-x86' });
	await c.ok('POST', '/nodes', { name: ARM, profile: 'x86only', interfaces: [{ mac: MAC }] });
	await c.ok('POST', '/nodes', { name: 'x3000c0s9b0n1', arch: 'aarch64', profile: 'x86only', interfaces: [{ mac: macFor(0x3091) }] });
	// its iPXE asks with arch=${buildarch}: an arm64 machine
	const r = await c.nodeGet(`/boot/v1/bootscript?mac=${MAC}&arch=arm64`);
	assert.match(r.text, /no image for aarch64 in profile x86only/);
	ctx = await launch();
	page = await newPage(ctx);
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
});

test('learned arch and the no-image reason on the node page', async () => {
	await page.goto(`${c.url}/ui/#/nodes/${ARM}`);
	await page.waitForSelector('#no-image');
	assert.equal(await page.textContent('#arch-source'), 'learned from iPXE');
	assert.match(await page.textContent('.facts'), /aarch64/);
	assert.equal(await page.textContent('#no-image'), 'no image for aarch64 in profile x86only: the node waits');
	await page.waitForFunction(() => /Blocked at the boot script: no image for aarch64 in profile x86only/.test(document.querySelector('#tl-summary')?.textContent || ''));
	assert.deepEqual(page.errors || [], []);
});

test('an arch set by hand says so', async () => {
	await page.goto(`${c.url}/ui/#/nodes/x3000c0s9b0n1`);
	await page.waitForSelector('#arch-source');
	assert.equal(await page.textContent('#arch-source'), 'set by hand');
	await page.waitForSelector('#no-image'); // its script would say so too
});

test('a profile’s image per architecture and its iPXE binary, edited on the config page', async () => {
	await c.seedImage('compute-arm');
	await c.ok('PATCH', '/images/compute-arm', { arch: 'aarch64' });
	await page.goto(`${c.url}/ui/#/config/profiles/x86only`);
	// the page learns of the image through its event stream
	await page.waitForSelector('#edit-images-aarch64 option[value="compute-arm"]', { state: 'attached' });
	// each row offers the images built for its architecture
	const offered = await page.$$eval('#edit-images-aarch64 option', (os) => os.map((o) => o.value));
	assert.deepEqual(offered, ['', 'compute-arm']);
	assert.ok(!(await page.$$eval('#edit-images-x86_64 option', (os) => os.map((o) => o.value))).includes('compute-arm'));
	await page.selectOption('#edit-images-aarch64', 'compute-arm');
	assert.match(await page.textContent('#edit-touches'), /touches the 2 nodes booting with it/);
	// a binary the server refuses: the reason next to its field, nothing saved
	await page.fill('#edit-ipxe-binary', 'grub.efi');
	await page.click('#edit-save');
	await page.waitForSelector('#edit-ipxe-binary-err:not([hidden])');
	assert.match(await page.textContent('#edit-ipxe-binary-err'), /firmware table/);
	assert.equal(await page.getAttribute('#edit-ipxe-binary', 'aria-invalid'), 'true');
	let p = await c.ok('GET', '/profiles/x86only');
	assert.deepEqual([p.images, p.ipxe_binary], [{}, null]);
	// fixed: both saved, and the arm64 node boots its image
	await page.fill('#edit-ipxe-binary', 'ipxe.efi');
	await page.click('#edit-save');
	await until(async () => JSON.stringify((await c.ok('GET', '/profiles/x86only')).images) === '{"aarch64":"compute-arm"}', 5000, 'images saved');
	p = await c.ok('GET', '/profiles/x86only');
	assert.equal(p.ipxe_binary, 'ipxe.efi');
	assert.equal(p.image, 'compute-x86');
	const r = await c.nodeGet(`/boot/v1/bootscript?mac=${MAC}&arch=arm64`);
	assert.match(r.text, /files\/images\/compute-arm\/vmlinuz/);
	await page.waitForSelector('#profiles-table tr[data-name="x86only"] >> text=aarch64: compute-arm');
	assert.deepEqual(page.errors || [], []);
});

test('an image gone before the save: the refusal shows next to its architecture', async () => {
	await c.seedImage('riscv-a');
	await c.ok('PATCH', '/images/riscv-a', { arch: 'riscv64' });
	await c.ok('POST', '/profiles', { name: 'rv', image: 'compute-x86' });
	await page.goto(`${c.url}/ui/#/config/profiles/rv`);
	await page.waitForSelector('#edit-images-riscv64 option[value="riscv-a"]', { state: 'attached' });
	await page.selectOption('#edit-images-riscv64', 'riscv-a');
	await c.ok('DELETE', '/images/riscv-a'); // another admin, meanwhile
	await page.click('#edit-save');
	await page.waitForSelector('#edit-images-riscv64-err:not([hidden])');
	assert.match(await page.textContent('#edit-images-riscv64-err'), /riscv-a|no such image/);
	assert.equal(await page.getAttribute('#edit-images-riscv64', 'aria-invalid'), 'true');
	assert.deepEqual((await c.ok('GET', '/profiles/rv')).images, {});
	// clearing a row clears the map
	await page.goto(`${c.url}/ui/#/config/profiles/x86only`);
	await page.waitForSelector('#edit-images-aarch64');
	assert.equal(await page.inputValue('#edit-images-aarch64'), 'compute-arm');
	await page.selectOption('#edit-images-aarch64', '');
	await page.click('#edit-save');
	await until(async () => JSON.stringify((await c.ok('GET', '/profiles/x86only')).images) === '{}', 5000, 'images cleared');
});
