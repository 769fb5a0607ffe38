// Redfish from the page, against a fake BMC started here (loopback):
// a credential is saved (its password never comes back), the BMC is
// discovered through the Discover form and its system becomes a node,
// whose page powers it on and sets a one-time PXE boot, reading the
// results back per node.  A BMC that refuses the credential stands out.
// A read-only token sees BMCs and power state but no control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCorrald, launch, newPage, signIn, until, macFor } from './harness.mjs';
import { startFakeBmc } from './fakebmc.mjs';

let c, ctx, page, bmc, bad, broken;
const NODE = 'rf-node1';
const PASSWORD = 'Fake-Passw0rd!';
const requests = [];
before(async () => {
	bmc = await startFakeBmc({ user: 'corral', password: PASSWORD, hostName: NODE, mac: '52:54:00:aa:00:01' });
	// A second BMC on another loopback address that refuses our credential.
	bad = await startFakeBmc({ host: '127.0.0.2', user: 'other', password: 'nope', hostName: 'never' });
	c = await startCorrald({ redfish: { connect_timeout_ms: '1000', timeout_ms: '3000' } });
	await c.ok('POST', '/nodes', { name: 'plain1', interfaces: [{ mac: macFor(1) }] });
	ctx = await launch();
	page = await newPage(ctx);
	page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
	await signIn(page, c);
});
after(async () => {
	await ctx?.close();
	await c?.cleanup();
	await bmc?.stop();
	await bad?.stop();
	await broken?.stop();
});

test('the scope comes from whoami, not from probing the token list', async () => {
	assert.ok(requests.includes('GET /api/v1/whoami'));
	assert.ok(!requests.some((r) => r.includes('/api/v1/tokens')), requests.join('\n'));
});

test('a node with no BMC shows no power card', async () => {
	await page.goto(`${c.url}/ui/#/nodes/plain1`);
	await page.waitForSelector('#ipxe pre');
	assert.equal(await page.isVisible('#power'), false);
	assert.equal(await page.$('#pw-on'), null);
});

test('save a credential: listed by name and user, the password never shown back', async () => {
	await page.click('a[data-nav="bmcs"]');
	await page.waitForSelector('h1:has-text("BMCs")');
	await page.waitForSelector('#bmc-empty');
	await page.fill('#cred-name', 'default');
	await page.fill('#cred-user', 'corral');
	await page.fill('#cred-pass', PASSWORD);
	await page.click('#cred-save');
	await page.waitForSelector('#cred-table tr[data-name="default"]');
	assert.match(await page.textContent('#cred-table tr[data-name="default"]'), /corral/);
	assert.equal(await page.inputValue('#cred-pass'), '', 'the password field is emptied');
	assert.ok(!(await page.content()).includes(PASSWORD));
	const list = await c.ok('GET', '/credentials');
	assert.deepEqual(list.map((x) => [x.name, x.username]), [['default', 'corral']]);
	assert.ok(!JSON.stringify(list).includes(PASSWORD));
	// The Discover form now offers it.
	assert.equal(await page.inputValue('#disc-credential'), 'default');
});

test('discover the fake BMC through the form: progress, summary, the node made', async () => {
	await page.fill('#disc-targets', '127.0.0.1');
	await page.selectOption('#disc-scheme', 'http');
	await page.fill('#disc-port', String(bmc.port));
	await page.click('#disc-start');
	await page.waitForSelector('#disc-progress[data-state="done"]', { timeout: 20000 });
	assert.match(await page.textContent('#disc-counts'), /1 of 1 probed · 1 BMC found/);
	assert.match(await page.textContent('#disc-created'), new RegExp(NODE));
	assert.equal((await page.textContent('#disc-conflicts')).trim(), '0');
	assert.equal((await page.textContent('#disc-errors')).trim(), '0');
	// The BMC is listed with its vendor, model, MAC and its system's node.
	const row = '#bmc-table tr[data-address="127.0.0.1"]';
	await page.waitForSelector(row);
	assert.equal(await page.getAttribute(row, 'data-status'), 'ok');
	const text = await page.textContent(row);
	assert.match(text, /FakeVendor/);
	assert.match(text, /FakeBMC 2/);
	assert.match(text, /52:54:00:bb:00:01/);
	assert.equal(await page.textContent(`${row} a.node-link`), NODE);
	// The node exists, with the system's MAC, and the table shows it.
	const n = await c.ok('GET', '/nodes/' + NODE);
	assert.equal(n.interfaces[0].mac, '52:54:00:aa:00:01');
	assert.equal(await page.textContent('#nav-bmcs'), '1');
	await page.click(`${row} a.node-link`);
	await page.waitForSelector('#power:not([hidden])');
});

test('the node page shows its BMC and power state; Power on reads back On', async () => {
	assert.match(await page.textContent('#pw-bmc'), new RegExp(`http://127\\.0\\.0\\.1:${bmc.port}`));
	assert.equal(await page.getAttribute('#pw-state .pw', 'data-power'), 'Off');
	assert.equal(bmc.state.power, 'Off');
	await page.click('#pw-on');
	await page.waitForSelector('#pw-result[data-state="ok"]', { timeout: 15000 });
	const line = `#pw-result li.job-node[data-node="${NODE}"]`;
	assert.equal(await page.getAttribute(line, 'data-ok'), 'true');
	assert.match(await page.textContent(line), /ok/);
	assert.match(await page.textContent(line), /sent On/);
	assert.equal(await page.getAttribute(`${line} .pw`, 'data-power'), 'On');
	assert.deepEqual(bmc.state.resets, ['On']);
	assert.equal(bmc.state.power, 'On');
	// The power state shown in the card follows (BMCs reloaded), with when it was read.
	await page.waitForSelector('#pw-state .pw[data-power="On"]');
	assert.match(await page.textContent('#pw-checked'), /^read (just now|\d+ s ago)$/);
	const checked = Date.parse(await page.getAttribute('#pw-checked time', 'datetime'));
	assert.ok(Math.abs(Date.now() - checked) < 60000, `power read at ${checked}`);
});

test('PXE once: ok, and the BMC holds a one-time PXE override', async () => {
	await page.click('#pw-pxe');
	await page.waitForSelector('#pw-result[data-state="ok"] >> text=PXE once');
	const line = `#pw-result li.job-node[data-node="${NODE}"]`;
	assert.equal(await page.getAttribute(line, 'data-ok'), 'true');
	assert.match(await page.textContent(line), /boot override Pxe \(Once\)/);
	assert.equal(bmc.state.boot.BootSourceOverrideTarget, 'Pxe');
	assert.equal(bmc.state.boot.BootSourceOverrideEnabled, 'Once');
	assert.deepEqual(bmc.state.resets, ['On'], 'PXE once alone restarts nothing');
});

test('Power off asks first; cancel sends nothing, confirm powers off', async () => {
	const before = bmc.state.log.length;
	await page.click('#pw-off');
	await page.waitForSelector('#pw-confirm');
	assert.match(await page.textContent('.power-controls .confirm'), /Power off rf-node1 now\?/);
	await page.click('#pw-cancel');
	assert.equal(await page.isVisible('#pw-confirm'), false);
	assert.equal(bmc.state.log.length, before, 'cancel sent nothing to the BMC');
	await page.click('#pw-off');
	await page.click('#pw-confirm');
	await page.waitForSelector('#pw-result[data-state="ok"] >> text=Power off');
	assert.equal(bmc.state.power, 'Off');
	assert.deepEqual(bmc.state.resets, ['On', 'ForceOff']);
	await page.waitForSelector('#pw-state .pw[data-power="Off"]');
});

test('PXE once and reset asks first, then powers the node on to boot', async () => {
	await page.click('#pw-pxe-reset');
	await page.click('#pw-confirm');
	await page.waitForSelector('#pw-result[data-state="ok"] >> text=PXE once and reset');
	assert.equal(bmc.state.power, 'On');
	assert.equal(bmc.state.resets.at(-1), 'On');
	assert.deepEqual(page.errors, []);
});

test('a BMC that refuses the credential stands out with its message', async () => {
	await page.click('a[data-nav="bmcs"]');
	await page.fill('#disc-targets', '127.0.0.2');
	await page.selectOption('#disc-scheme', 'http');
	await page.fill('#disc-port', String(bad.port));
	await page.click('#disc-start');
	await page.waitForSelector('#disc-progress[data-state="done"] >> text=127.0.0.2', { timeout: 20000 });
	const row = '#bmc-table tr[data-address="127.0.0.2"]';
	await page.waitForSelector(row);
	assert.equal(await page.getAttribute(row, 'data-status'), 'auth_failed');
	assert.match(await page.getAttribute(row, 'class'), /bmc-bad/);
	assert.match(await page.textContent(`${row} .bmc-msg`), /refused the credentials/);
	assert.equal(await page.textContent('#disc-created'), '0');
	assert.ok(await page.$('#nav-bmcs.hot'));
	assert.equal((await c.api('GET', '/nodes/never')).status, 404);
});

test('a bad target is shown at its field, and nothing starts', async () => {
	await page.fill('#disc-targets', '10.0.0.0/8');
	await page.click('#disc-start');
	await page.waitForSelector('#disc-targets[aria-invalid="true"]');
	assert.match(await page.textContent('#disc-targets-err'), /targets/);
	assert.deepEqual(page.errors, []);
});

test('forget a BMC: asked first; its row goes, the nodes stay', async () => {
	const row = '#bmc-table tr[data-address="127.0.0.2"]';
	await page.click(`${row} button[aria-label="Forget BMC 127.0.0.2"]`);
	await page.waitForSelector(`${row} .forget-yes`);
	assert.equal((await c.ok('GET', '/bmcs')).length, 2, 'nothing sent before the confirmation');
	await page.click(`${row} .forget-yes`);
	await page.waitForFunction(() => !document.querySelector('#bmc-table tr[data-address="127.0.0.2"]'));
	assert.deepEqual((await c.ok('GET', '/bmcs')).map((b) => b.address), ['127.0.0.1']);
	assert.equal((await c.api('GET', '/nodes/' + NODE)).status, 200);
	assert.equal(await page.$('#nav-bmcs.hot'), null);
});

test('a discovery goes on while the view is left, and the view follows it on return', async () => {
	await page.fill('#disc-targets', '127.0.0.2');
	await page.selectOption('#disc-scheme', 'http');
	await page.fill('#disc-port', String(bad.port));
	await page.click('#disc-start');
	await page.click('a[data-nav="nodes"]');
	await page.waitForSelector('#node-rows tr');
	await page.click('a[data-nav="bmcs"]');
	await page.waitForSelector('#disc-progress[data-state="done"] >> text=127.0.0.2', { timeout: 20000 });
	await page.waitForSelector('#disc-start:not([disabled])');
	await page.waitForSelector('#bmc-table tr[data-address="127.0.0.2"][data-status="auth_failed"]');
	assert.deepEqual(page.errors, []);
});

test('a BMC that fails (HTTP 500) stands out as error, with its message', async () => {
	broken = await startFakeBmc({ host: '127.0.0.3', failing: true });
	await page.fill('#disc-targets', '127.0.0.3');
	await page.selectOption('#disc-scheme', 'http');
	await page.fill('#disc-port', String(broken.port));
	await page.click('#disc-start');
	const row = '#bmc-table tr[data-address="127.0.0.3"]';
	await page.waitForSelector(`${row}[data-status="error"]`, { timeout: 20000 });
	assert.match(await page.getAttribute(row, 'class'), /bmc-bad/);
	assert.match(await page.textContent(`${row} .bmc-msg`), /failed.*500/);
	assert.match(await page.textContent(`${row} .badge`), /^error$/);
	assert.deepEqual(page.errors, []);
});

test('nodes table: select nodes, read their power state and PXE-boot them once in one job each', async () => {
	await page.click('a[data-nav="nodes"]');
	const row = (n) => `#node-rows tr[data-name="${n}"]`;
	await page.waitForSelector(`${row(NODE)} .pw[data-power="On"]`);
	assert.equal(await page.isVisible('#bulk-bar'), false);
	await page.check(`${row(NODE)} input.sel`);
	await page.check(`${row('plain1')} input.sel`);
	await page.waitForSelector('#bulk-bar:not([hidden])');
	assert.match(await page.textContent('#bulk-info'), /2 nodes selected · 1 with a BMC/);
	await page.click('#bulk-status');
	await page.waitForSelector('#bulk-result[data-state="failed"]', { timeout: 15000 });
	assert.equal(await page.getAttribute(`#bulk-result li[data-node="${NODE}"]`, 'data-ok'), 'true');
	assert.equal(await page.getAttribute(`#bulk-result li[data-node="${NODE}"] .pw`, 'data-power'), 'On');
	assert.equal(await page.getAttribute('#bulk-result li[data-node="plain1"]', 'data-ok'), 'false');
	assert.match(await page.textContent('#bulk-result li[data-node="plain1"]'), /no BMC/);
	// Only the node with a BMC, PXE once.
	await page.uncheck(`${row('plain1')} input.sel`);
	assert.match(await page.textContent('#bulk-info'), /1 node selected · all with a BMC/);
	bmc.state.boot.BootSourceOverrideTarget = 'None';
	await page.click('#bulk-pxe');
	await page.waitForSelector('#bulk-result[data-state="ok"] >> text=PXE once');
	assert.equal(bmc.state.boot.BootSourceOverrideTarget, 'Pxe');
	// The page checkbox selects the page; clear empties the selection.
	await page.check('#sel-page');
	assert.match(await page.textContent('#bulk-info'), /2 nodes selected/);
	await page.click('#sel-none');
	await page.waitForSelector('#bulk-bar[hidden]', { state: 'attached' });
	assert.deepEqual(page.errors, []);
});

test('a power job that fails shows the BMC’s refusal for the node', async () => {
	await c.ok('POST', '/credentials', { name: 'default', username: 'corral', password: 'wrong' });
	await page.goto(`${c.url}/ui/#/nodes/${NODE}`);
	await page.waitForSelector('#power:not([hidden])');
	const before = bmc.state.resets.length;
	await page.click('#pw-on');
	await page.waitForSelector('#pw-result[data-state="failed"]', { timeout: 15000 });
	const line = `#pw-result li.job-node[data-node="${NODE}"]`;
	assert.equal(await page.getAttribute(line, 'data-ok'), 'false');
	assert.match(await page.textContent(`${line} .job-msg`), /refused the credentials/);
	assert.match(await page.textContent('#pw-result'), /0 ok, 1 failed/);
	assert.equal(bmc.state.resets.length, before);
	await c.ok('POST', '/credentials', { name: 'default', username: 'corral', password: PASSWORD });
	assert.deepEqual(page.errors, []);
});

test('a discovery run elsewhere (CLI, API) shows on an open page without a reload', async () => {
	const other = await startFakeBmc({ host: '127.0.0.4', user: 'corral', password: PASSWORD, hostName: 'rf-node4', mac: '52:54:00:aa:00:04', bmcMac: '52:54:00:bb:00:04' });
	try {
		await page.click('a[data-nav="nodes"]');
		await page.waitForSelector(`#node-rows tr[data-name="${NODE}"]`);
		const bmcsBefore = Number(await page.textContent('#nav-bmcs'));
		await page.evaluate(() => (window.__sameDocument = true));
		const job = await c.ok('POST', '/discovery', { targets: ['127.0.0.4'], port: other.port, scheme: 'http' });
		await page.waitForSelector('#node-rows tr[data-name="rf-node4"]', { timeout: 20000 });
		await page.waitForFunction((n) => Number(document.querySelector('#nav-bmcs').textContent) === n, bmcsBefore + 1);
		assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
		assert.equal((await c.ok('GET', '/jobs/' + job.id)).state, 'done');
		assert.deepEqual(page.errors, []);
	} finally {
		await other.stop();
	}
});

test('read-only: BMCs and power state visible, no power button, no discover or credential form', async () => {
	const ro = await ctx.newPage();
	ro.errors = [];
	ro.on('pageerror', (e) => ro.errors.push(e.message));
	const writes = [];
	ro.on('request', (r) => r.method() !== 'GET' && writes.push(r.url()));
	await signIn(ro, c, c.read);
	await ro.goto(`${c.url}/ui/#/bmcs`);
	await ro.waitForSelector('#bmc-table tr[data-address="127.0.0.1"]');
	assert.equal(await ro.$('#discover-form'), null);
	assert.equal(await ro.$('#cred-form'), null);
	assert.equal(await ro.$('#disc-start'), null);
	assert.match(await ro.textContent('main .ro-note'), /Read-only/);
	await ro.goto(`${c.url}/ui/#/nodes/${NODE}`);
	await ro.waitForSelector('#power:not([hidden]) #pw-state .pw');
	assert.equal(await ro.$('#pw-on'), null);
	assert.equal(await ro.$('#pw-pxe'), null);
	assert.equal(await ro.$('#power [data-write]'), null);
	assert.match(await ro.textContent('#power .ro-note'), /Read-only/);
	await ro.goto(`${c.url}/ui/#/nodes`);
	await ro.waitForSelector(`#node-rows tr[data-name="${NODE}"] .pw`);
	assert.equal(await ro.$('#node-rows input.sel'), null);
	assert.equal(await ro.$('#bulk-bar'), null);
	assert.deepEqual(writes, []);
	assert.deepEqual(ro.errors, []);
	await ro.close();
});
