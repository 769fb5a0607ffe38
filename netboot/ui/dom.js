// Small DOM and formatting helpers shared by every view.  No innerHTML:
// every text goes in through textContent, so nothing from the API can
// become markup.

// h('div.card#id', {attrs}, child, [children], 'text', null) -> Element
export function h(tag, attrs, ...children) {
	let name = tag;
	let id = null;
	const classes = [];
	const m = tag.match(/^[a-z0-9-]+/i);
	name = m ? m[0] : 'div';
	for (const part of tag.slice(name.length).match(/[.#][^.#]+/g) || []) {
		if (part[0] === '.') classes.push(part.slice(1));
		else id = part.slice(1);
	}
	const svg = name === 'svg' || SVG_TAGS.has(name);
	const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', name) : document.createElement(name);
	if (id) el.id = id;
	if (classes.length) el.setAttribute('class', classes.join(' '));
	if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
		children.unshift(attrs);
		attrs = null;
	}
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.setAttribute('class', [el.getAttribute('class'), v].filter(Boolean).join(' '));
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k === 'value' && !svg) el.value = v;
		else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = !!v;
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

const SVG_TAGS = new Set(['path', 'circle', 'rect', 'line', 'g', 'text', 'polyline', 'title']);

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

export function $(sel, root = document) {
	return root.querySelector(sel);
}

export function debounce(fn, ms) {
	let t = null;
	const d = (...args) => {
		clearTimeout(t);
		t = setTimeout(() => {
			t = null;
			fn(...args);
		}, ms);
	};
	d.cancel = () => clearTimeout(t);
	return d;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- time -----------------------------------------------------------------

export function parseTime(s) {
	const t = Date.parse(s);
	return Number.isNaN(t) ? null : t;
}

// "4 ms", "1.2 s", "12 s", "3 min 5 s", "2 h 10 min", "3 d"
export function duration(ms) {
	if (ms < 0) ms = 0;
	if (ms < 1000) return Math.round(ms) + ' ms';
	const s = ms / 1000;
	if (s < 10) return (Math.round(s * 10) / 10).toFixed(1).replace(/\.0$/, '') + ' s';
	if (s < 60) return Math.round(s) + ' s';
	const m = Math.floor(s / 60);
	if (m < 60) {
		const rs = Math.round(s - m * 60);
		return m < 10 && rs ? `${m} min ${rs} s` : `${m} min`;
	}
	const hr = Math.floor(m / 60);
	if (hr < 48) return m % 60 ? `${hr} h ${m % 60} min` : `${hr} h`;
	return Math.floor(hr / 24) + ' d';
}

// "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago": short, for
// tables; exact times go in a title.
export function ago(t, now = Date.now()) {
	if (t === null || t === undefined) return '';
	const s = Math.floor((now - t) / 1000);
	if (s < 5) return 'just now';
	if (s < 60) return s + ' s ago';
	if (s < 3600) return Math.floor(s / 60) + ' min ago';
	if (s < 172800) return Math.floor(s / 3600) + ' h ago';
	return Math.floor(s / 86400) + ' d ago';
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Local wall-clock time, with milliseconds when asked.
export function clock(t, ms = false) {
	const d = new Date(t);
	const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
	return ms ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

export function dateTime(t) {
	const d = new Date(t);
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(t)}`;
}

export const fmtInt = (n) => Number(n).toLocaleString('en-US');

// --- announcements ----------------------------------------------------------

// A short message in the corner, also read out by screen readers.
export function toast(text, kind = 'ok') {
	const box = document.getElementById('toasts');
	if (!box) return;
	const el = h('div.toast', { class: 'toast-' + kind, role: kind === 'error' ? 'alert' : 'status' }, text);
	box.appendChild(el);
	setTimeout(() => el.classList.add('gone'), 4500);
	setTimeout(() => el.remove(), 5000);
}

// A labelled form field: returns {wrap, input, error}.  The error element
// is tied to the input with aria-describedby; showFieldError fills it.
let fieldSeq = 0;
export function field(label, input, hint) {
	const id = input.id || `f${++fieldSeq}`;
	input.id = id;
	const err = h('p.field-error', { id: id + '-err', role: 'alert', hidden: true });
	const described = [id + '-err'];
	let hintEl = null;
	if (hint) {
		hintEl = h('p.hint', { id: id + '-hint' }, hint);
		described.push(id + '-hint');
	}
	input.setAttribute('aria-describedby', described.join(' '));
	const wrap = h('div.field', h('label', { for: id }, label), input, hintEl, err);
	return { wrap, input, error: err };
}

export function showFieldError(f, message) {
	f.error.textContent = message;
	f.error.hidden = false;
	f.input.setAttribute('aria-invalid', 'true');
	f.wrap.classList.add('invalid');
}

export function clearFieldError(f) {
	f.error.textContent = '';
	f.error.hidden = true;
	f.input.removeAttribute('aria-invalid');
	f.wrap.classList.remove('invalid');
}

export function plural(n, one, many = one + 's') {
	return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

// "a, b, c and 12 more"
export function nameList(names, max = 8) {
	if (names.length <= max) return names.join(', ');
	return names.slice(0, max).join(', ') + ` and ${fmtInt(names.length - max)} more`;
}
