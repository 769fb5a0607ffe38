// Corral's web page: sign-in, the header, the router (#/nodes,
// #/nodes/NAME, #/config/KIND[/NAME], #/discovered, #/bmcs) and the live stream
// that keeps every view current.

import { session, saveToken, forgetToken, probe, get, enc } from './api.js';
import { h, clear, $, debounce, fmtInt, field, showFieldError, clearFieldError } from './dom.js';
import { S, on, load, applyBoot, putNode, dropNode } from './state.js';
import { openStream } from './stream.js';
import { nodesView } from './nodes.js';
import { nodeView } from './node.js';
import { configView } from './config.js';
import { discoveredView } from './discovered.js';
import { bmcsView } from './bmcs.js';

const view = $('#view');
const top = $('#top');
let current = null; // the shown view's {leave}
let stream = null;

// --- sign-in --------------------------------------------------------------

function showSignIn(message) {
	top.hidden = true;
	$('#ro-banner').hidden = true;
	if (current) current.leave();
	current = null;
	const tok = field('API token', h('input', { type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false', required: true }), h('span', 'Made on the server with ', h('code', 'corrald token create NAME'), ' (add ', h('code', '--read-only'), ' for a token that only looks). Kept for this tab only.'));
	const btn = h('button.btn.primary.wide', { type: 'submit', id: 'signin-btn' }, 'Sign in');
	const form = h(
		'form.signin.card#signin-form',
		{ novalidate: true, 'aria-labelledby': 'signin-title' },
		h('div.signin-brand', h('img', { src: 'logo.svg', alt: '', width: 48, height: 48 }), h('h1#signin-title', 'Corral')),
		h('p.lede', 'Network boot for your cluster. Sign in with an API token.'),
		tok.wrap,
		btn,
	);
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		clearFieldError(tok);
		const t = tok.input.value.trim();
		if (!t) {
			showFieldError(tok, 'Paste a token.');
			tok.input.focus();
			return;
		}
		btn.disabled = true;
		btn.textContent = 'Signing in…';
		try {
			const scope = await probe(t);
			saveToken(t);
			await start(scope);
		} catch (ex) {
			showFieldError(tok, ex.status === 401 ? 'corrald does not know this token (or it was revoked).' : ex.message);
			tok.input.focus();
		} finally {
			btn.disabled = false;
			btn.textContent = 'Sign in';
		}
	});
	clear(view, h('div.signin-wrap', form));
	document.body.classList.add('signed-out');
	document.title = 'Sign in · Corral';
	if (message) showFieldError(tok, message);
	tok.input.focus();
}

function signOut(message) {
	if (stream) stream.close();
	stream = null;
	forgetToken();
	document.body.classList.remove('read-only');
	showSignIn(message);
}

session.onUnauthorized = () => signOut('The token stopped working (revoked or expired). Sign in again.');

async function start(scope) {
	session.readOnly = scope.readOnly;
	document.body.classList.remove('signed-out');
	document.body.classList.toggle('read-only', scope.readOnly);
	$('#ro-badge').hidden = !scope.readOnly;
	$('#ro-banner').hidden = !scope.readOnly;
	top.hidden = false;
	clear(view, h('p.loading', 'Loading the cluster…'));
	await load();
	counts();
	if (stream) stream.close();
	stream = openStream({ onEvent, onState: liveState });
	route();
}

// --- header -----------------------------------------------------------------

function counts() {
	$('#nav-nodes').textContent = fmtInt(S.nodes.length);
	const d = $('#nav-disc');
	d.textContent = fmtInt(S.discovered.length);
	d.classList.toggle('hot', S.discovered.length > 0);
	const b = $('#nav-bmcs');
	b.textContent = S.bmcs.length ? fmtInt(S.bmcs.length) : '';
	const bad = S.bmcs.filter((x) => x.status !== 'ok').length;
	b.classList.toggle('hot', bad > 0);
	b.title = bad ? `${bad} not ok (auth_failed or error)` : '';
}
on('nodes', counts);
on('discovered', counts);
on('bmcs', counts);

function liveState(s) {
	const el = $('#live');
	el.dataset.state = s;
	el.textContent = s === 'live' ? 'Live' : s === 'reconnecting' ? 'Reconnecting…' : 'Offline';
	el.title = s === 'live' ? 'Updates arrive as they happen (Server-Sent Events)' : 'The live stream is down; the page retries';
}

$('#signout').addEventListener('click', () => signOut());

// --- live updates -------------------------------------------------------------

const pending = new Set();
const nodeRefetch = new Set();
const reload = debounce(async () => {
	const kinds = [...pending];
	const names = [...nodeRefetch];
	pending.clear();
	nodeRefetch.clear();
	try {
		if (kinds.length) await load(kinds);
		if (!kinds.includes('nodes')) {
			for (const n of names) {
				try {
					putNode(await get(`/nodes/${enc(n)}`));
				} catch (e) {
					if (e.status === 404) dropNode(n);
				}
			}
		}
	} catch {
		/* the next change or resync tries again */
	}
}, 300);

function reloadSoon(...kinds) {
	for (const k of kinds) pending.add(k);
	reload();
}

// The API route of a change -> what to fetch again.
const ROUTE_KINDS = {
	api_nodes: ['nodes', 'groups'],
	api_nodes_import: ['nodes', 'groups'],
	api_groups: ['groups'],
	api_group: ['groups', 'nodes'],
	api_images: ['images'],
	api_image: ['images', 'profiles'],
	api_profiles: ['profiles'],
	api_profile: ['profiles', 'groups', 'nodes', 'defaults'],
	api_defaults: ['defaults'],
	api_discovered_one: ['discovered'],
	api_discovered_adopt: ['discovered', 'nodes', 'groups'],
	// Redfish: a job's 202 comes before its work; whoever started it
	// reloads when it is done.  Forgetting a BMC and credentials are at once.
	api_bmc: ['bmcs'],
	api_credentials: ['credentials'],
	api_credential: ['credentials'],
};

function onEvent(type, data) {
	if (type === 'boot') {
		if (data.discovered) reloadSoon('discovered');
		else if (!applyBoot(data)) reloadSoon('nodes');
	} else if (type === 'inventory') {
		if (data.route === 'api_node') {
			const name = decodeURIComponent((data.path || '').split('/').pop());
			if (data.method === 'DELETE') {
				dropNode(name);
				reloadSoon('groups');
			} else {
				nodeRefetch.add(name);
				reloadSoon('groups');
			}
		} else if (ROUTE_KINDS[data.route]) reloadSoon(...ROUTE_KINDS[data.route]);
	} else if (type === 'job') {
		// A Redfish job is done, whoever started it: discovery makes and
		// links nodes and records BMCs; power and boot jobs leave power states.
		if (data.type === 'discovery') reloadSoon('nodes', 'groups', 'bmcs');
		else reloadSoon('bmcs');
	} else if (type === 'resync') {
		reloadSoon('nodes', 'groups', 'images', 'profiles', 'defaults', 'discovered', 'bmcs', 'credentials');
	}
}

// --- router ---------------------------------------------------------------------

function parseHash() {
	const raw = location.hash.replace(/^#\/?/, '');
	const [path, query] = raw.split('?');
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	const params = Object.fromEntries(new URLSearchParams(query || ''));
	return { parts, params };
}

function route() {
	if (!session.token || top.hidden) return;
	const { parts, params } = parseHash();
	if (current) current.leave();
	current = null;
	const section = parts[0] || 'nodes';
	let title = 'Nodes';
	if (section === 'nodes' && parts[1]) {
		current = nodeView(view, { name: parts[1] });
		title = parts[1];
	} else if (section === 'config') {
		current = configView(view, { kind: parts[1], name: parts[2] });
		title = 'Boot configuration';
	} else if (section === 'discovered') {
		current = discoveredView(view);
		title = 'Discovered machines';
	} else if (section === 'bmcs') {
		current = bmcsView(view);
		title = 'BMCs';
	} else {
		current = nodesView(view, params);
	}
	for (const a of top.querySelectorAll('[data-nav]')) a.setAttribute('aria-current', a.dataset.nav === section ? 'page' : 'false');
	document.title = `${title} · Corral`;
	window.scrollTo(0, 0);
}

window.addEventListener('hashchange', () => {
	if (top.hidden) return; // signed out: the token field keeps the focus
	route();
	// Keyboard and screen-reader users land at the new view's heading.
	const h1 = view.querySelector('h1');
	if (h1) {
		h1.tabIndex = -1;
		h1.focus({ preventScroll: true });
	}
});

// --- start --------------------------------------------------------------------------

(async () => {
	if (!session.token) return showSignIn();
	try {
		await start(await probe(session.token));
	} catch (e) {
		if (e.status === 401) signOut('The saved token was not accepted. Sign in again.');
		else {
			forgetToken();
			showSignIn(e.message);
		}
	}
})();
