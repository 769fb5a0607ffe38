// The web page over HTTPS: the certificate the browser is served is the one
// corrald reports (`corrald cert`, its log), the page runs on https: with
// its API calls on the same origin, a browser that does not trust that key
// gets no page, and the node-facing port sends browsers to the HTTPS one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

// The certificate 127.0.0.1:port presents, whoever signed it.
function servedCert(port) {
	return new Promise((res, rej) => {
		const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
			const cert = s.getPeerCertificate(true);
			s.end();
			res(cert);
		});
		s.on('error', rej);
	});
}

test('the served certificate is the one corrald reports', async () => {
	const served = await servedCert(c.apiPort);
	// the certificate's SHA-256, as browsers show it
	assert.equal(served.fingerprint256, c.certSha256);
	// the public key's SHA-256: what `corrald cert` calls the fingerprint
	const spki = new X509Certificate(served.raw).publicKey.export({ type: 'spki', format: 'der' });
	assert.equal('sha256:' + createHash('sha256').update(spki).digest('hex'), c.fingerprint);
	// and what corrald logged at start
	const log = readFileSync(c.log, 'utf8');
	assert.ok(log.includes(`public key ${c.fingerprint} (corral --fingerprint)`), log);
	assert.ok(log.includes(`certificate SHA-256 ${c.certSha256}`), log);
});

test('the page and its API calls run over HTTPS on the operator port', async () => {
	const seen = [];
	page.on('request', (r) => seen.push(r.url()));
	await signIn(page, c);
	assert.equal(await page.evaluate(() => location.protocol), 'https:');
	assert.equal(await page.evaluate(() => window.isSecureContext), true);
	const api = seen.filter((u) => u.includes('/api/v1/'));
	assert.ok(api.length > 0, 'the page called the API');
	for (const u of api) assert.ok(u.startsWith(c.url + '/api/v1/'), u);
	const resp = await page.goto(c.url + '/ui/');
	const sec = await resp.securityDetails();
	assert.ok(sec, 'no TLS details for the page');
	assert.match(sec.protocol, /^TLS 1\.[23]$/);
	assert.match(sec.subjectName, /./);
});

test('a browser that does not trust the key gets no page', async () => {
	const other = await launch({ trust: false });
	try {
		const p = await newPage(other);
		await assert.rejects(p.goto(c.url + '/ui/'), /ERR_CERT/);
	} finally {
		await other.close();
	}
});

test('the node-facing port sends a browser to the HTTPS page', async () => {
	const r = await fetch(c.nodeUrl + '/ui/', { redirect: 'manual' });
	assert.equal(r.status, 308);
	assert.equal(r.headers.get('location'), c.url + '/ui/');
	await page.goto(c.nodeUrl + '/ui/');
	assert.equal(page.url(), c.url + '/ui/');
});
