// What the page knows about the cluster: every list the API gives, kept
// here and refreshed as the stream says things changed.  Views subscribe
// with on(kind, fn); kinds: nodes, groups, images, profiles, defaults,
// discovered, bmcs, credentials, boot (one node's live boot event).

import { get, session } from './api.js';
import { parseTime } from './dom.js';

export const S = {
	nodes: [],
	byName: new Map(),
	groups: [],
	groupByName: new Map(),
	images: [],
	profiles: [],
	defaults: { profile: null, metadata: {}, user_data: '' },
	discovered: [],
	bmcs: [],
	sysByNode: new Map(), // node name -> {bmc, sys}: its Redfish system
	credentials: [], // admin tokens only
	loaded: false,
};

const listeners = new Map();
export function on(kind, fn) {
	if (!listeners.has(kind)) listeners.set(kind, new Set());
	listeners.get(kind).add(fn);
	return () => listeners.get(kind).delete(fn);
}
export function emit(kind, arg) {
	for (const fn of listeners.get(kind) || []) fn(arg);
}

// The boot path as the page draws it: six steps, each event's stage on one.
export const STEPS = ['DHCP', 'iPXE', 'kernel', 'initrd', 'cloud-init', 'ready'];
const STAGE_STEP = {
	dhcp: 0,
	tftp: 0,
	firmware: 0,
	bootscript: 1,
	kernel: 2,
	initrd: 3,
	rootfs: 3,
	file: 3,
	'cloud-init': 4,
	'phone-home': 5,
};
export function stageStep(stage) {
	return stage in STAGE_STEP ? STAGE_STEP[stage] : -1;
}

// A node booting with no progress for this long is "stalled".
export const STUCK_MS = 120000;

function prepNode(n) {
	const macs = (n.interfaces || []).map((i) => i.mac + ' ' + (i.ip || '')).join(' ');
	n._key = `${n.name} ${(n.groups || []).join(' ')} ${macs} ${n.role || ''} ${n.nid ?? ''} ${n.profile || ''}`.toLowerCase();
	n._t = n.last_event ? parseTime(n.last_event.time) : null;
	return n;
}

// The state the page shows: disabled wins; booting with no progress for
// STUCK_MS is "stalled".
export function nodeStatus(n, now = Date.now()) {
	if (n.enabled === false) return 'disabled';
	if (n.state === 'booting' && n._t !== null && now - n._t > STUCK_MS && n.last_event.stage !== 'phone-home') return 'stalled';
	return n.state || 'new';
}

// Names in natural order: x1000c0s2 before x1000c0s10.
export const byNaturalName = ((c) => (a, b) => c(a.name, b.name))(new Intl.Collator('en', { numeric: true }).compare);

export async function loadNodes() {
	const list = await get('/nodes');
	S.nodes = list.map(prepNode).sort(byNaturalName);
	S.byName = new Map(S.nodes.map((n) => [n.name, n]));
	emit('nodes');
}

export function putNode(n) {
	prepNode(n);
	const i = S.nodes.findIndex((x) => x.name === n.name);
	if (i >= 0) S.nodes[i] = n;
	else {
		S.nodes.push(n);
		S.nodes.sort(byNaturalName);
	}
	S.byName.set(n.name, n);
	emit('nodes');
}

export function dropNode(name) {
	S.nodes = S.nodes.filter((n) => n.name !== name);
	S.byName.delete(name);
	emit('nodes');
}

export async function loadGroups() {
	S.groups = await get('/groups');
	S.groupByName = new Map(S.groups.map((g) => [g.name, g]));
	emit('groups');
}
export async function loadImages() {
	S.images = await get('/images');
	emit('images');
}
export async function loadProfiles() {
	S.profiles = await get('/profiles');
	emit('profiles');
}
export async function loadDefaults() {
	S.defaults = await get('/defaults');
	emit('defaults');
}
export async function loadDiscovered() {
	S.discovered = await get('/discovered');
	emit('discovered');
}

// BMCs found by Redfish discovery, each with its systems; a system that
// is linked to a node makes that node's power controls appear.
export async function loadBmcs() {
	let list;
	try {
		list = await get('/bmcs');
	} catch (e) {
		if (e.status !== 404) throw e;
		list = []; // a corrald without Redfish
	}
	S.bmcs = list.sort((a, b) => String(a.address).localeCompare(String(b.address), 'en', { numeric: true }));
	S.sysByNode = new Map();
	for (const b of S.bmcs) for (const s of b.systems || []) if (s.node) S.sysByNode.set(s.node, { bmc: b, sys: s });
	emit('bmcs');
}

// Names and user names only: the API never returns a password.
export async function loadCredentials() {
	S.credentials = session.readOnly ? [] : await get('/credentials');
	emit('credentials');
}

const LOADERS = {
	nodes: loadNodes,
	groups: loadGroups,
	images: loadImages,
	profiles: loadProfiles,
	defaults: loadDefaults,
	discovered: loadDiscovered,
	bmcs: loadBmcs,
	credentials: loadCredentials,
};

export async function load(kinds = Object.keys(LOADERS)) {
	await Promise.all([...kinds].map((k) => LOADERS[k]()));
	S.loaded = true;
}

// A boot event from the stream: the node's row moves without a reload.
export function applyBoot(ev) {
	if (ev.discovered || !ev.node) return false;
	const n = S.byName.get(ev.node);
	if (!n) return false;
	// a coalesced row's latest time is its last one
	const when = ev.last || ev.time;
	const t = parseTime(when);
	if (n._t === null || t === null || t >= n._t) {
		n.last_event = { stage: ev.stage, time: when };
		n._t = t;
	}
	if (ev.state) n.state = ev.state;
	emit('boot', ev);
	return true;
}

// The profile a node boots with and where it comes from: its own, else
// the first of its groups (in order) that names one, else the defaults'.
export function effective(n) {
	if (n.profile) return { profile: n.profile, source: 'node', group: null };
	for (const g of n.groups || []) {
		const grp = S.groupByName.get(g);
		if (grp && grp.profile) return { profile: grp.profile, source: 'group', group: g };
	}
	if (S.defaults.profile) return { profile: S.defaults.profile, source: 'default', group: null };
	return { profile: null, source: null, group: null };
}

export function profileImage(name) {
	const p = S.profiles.find((x) => x.name === name);
	return p ? p.image || null : null;
}

// Nodes whose boot profile comes from the defaults.
export function defaultNodes() {
	return S.nodes.filter((n) => effective(n).source === 'default' || effective(n).source === null);
}

// Nodes whose boot profile comes from group g (members without their own
// profile, for which no earlier group names one).
export function groupBootNodes(g) {
	return S.nodes.filter((n) => (n.groups || []).includes(g)).filter((n) => {
		if (n.profile) return false;
		for (const x of n.groups) {
			if (x === g) return true;
			const grp = S.groupByName.get(x);
			if (grp && grp.profile) return false;
		}
		return false;
	});
}

// What uses an object, from what the page has loaded (the API refuses the
// delete with the authoritative answer in any case).
export function usersOf(kind, name) {
	if (kind === 'images') return S.profiles.filter((p) => p.image === name || Object.values(p.images || {}).includes(name)).map((p) => 'profile ' + p.name);
	if (kind === 'profiles') {
		const u = S.groups.filter((g) => g.profile === name).map((g) => 'group ' + g.name);
		const nodes = S.nodes.filter((n) => n.profile === name);
		if (nodes.length) u.push(nodes.length === 1 ? 'node ' + nodes[0].name : nodes.length + ' nodes');
		if (S.defaults.profile === name) u.push('the defaults');
		return u;
	}
	if (kind === 'groups') {
		const g = S.groupByName.get(name);
		const m = g ? g.members || [] : [];
		return m.length ? [m.length === 1 ? 'node ' + m[0] : m.length + ' member nodes'] : [];
	}
	return [];
}
