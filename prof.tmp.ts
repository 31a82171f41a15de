import { generateMessages } from './bench/corpus.js';
import { translateMessage } from './lib/translate/index.js';
const messages = generateMessages(2_000, 6, 0.5);
const texts = messages.map((m) => JSON.stringify(m));
const options = { anonymousEvents: 'skip' as const, traitValues: 'flatten' as const, now: new Date(), maxEventBytes: 65536 };
const pass = () => { for (const t of texts) { const tr = translateMessage(JSON.parse(t), options); if (tr.outcome === 'send') JSON.stringify(tr.candu); } };
const floor = () => { for (const t of texts) JSON.stringify(JSON.parse(t)); };
for (let i = 0; i < 20; i++) { pass(); floor(); }
const time = (f: () => void) => { const s = performance.now(); for (let i = 0; i < 30; i++) f(); return (performance.now() - s) / 30; };
const p = time(pass), f = time(floor);
console.log(`pipeline ${p.toFixed(1)} ms, floor ${f.toFixed(1)} ms, ratio ${(p/f).toFixed(2)}`);
