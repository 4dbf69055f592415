// Letters from other scripts that read as Latin ones, so that "gооgle.cоm"
// with Cyrillic о is scanned as the domain a reader sees.
//
// Derived from Unicode Technical Standard #39, confusables.txt (the entries
// whose prototype is one ASCII letter). Only Cyrillic, Greek, Armenian and a
// few Latin letters outside ASCII are kept: they are the scripts whose
// letters pass for Latin ones in a domain, the file's other ~6,000 entries
// (symbols, digits, letters of scripts that look nothing like Latin) would
// only add ways to turn ordinary words into false matches, and a small table
// stays cheap to load in a Worker. Three kinds of departure from the file,
// all to match what a reader sees in a domain: lower-case в к м н т, Greek κ
// τ (the file maps them to Latin small capitals or kra) are folded to the
// Latin letter; capital І and Greek Ι go to i rather than l; and letters
// whose prototype is a digit (З → 3, б → 6) are left out, since they are
// common inside ordinary Cyrillic words.
//
// Folded to lower case: every pattern that reads the result ignores case.
const LOOKALIKES: Record<string, string> = {
	a: "аАαΑɑ",
	b: "вВΒЬ",
	c: "сСϲϹ",
	d: "ԁ",
	e: "еЕҽΕ",
	f: "Ϝք",
	g: "ɡԌց",
	h: "һнНΗհ",
	i: "іІιΙӏı",
	j: "јЈϳͿ",
	k: "кКκΚ",
	l: "Ӏ",
	m: "мМΜϺ",
	n: "Νոռ",
	o: "оОοΟօՕ",
	p: "рРρΡ",
	q: "ԛգզ",
	r: "г",
	s: "ѕЅՏ",
	t: "тТτΤ",
	u: "υսՍ",
	v: "νѵѴ",
	w: "ԝԜѡա",
	x: "хХΧ",
	y: "уУүҮγΥϒ",
	z: "Ζ",
};

const LATIN_OF = new Map<string, string>(
	Object.entries(LOOKALIKES).flatMap(([latin, lookalikes]) => [...lookalikes].map((c) => [c, latin] as const)),
);

/** The Latin letter `char` passes for, or undefined if it is not in the table. */
export function latinLookalike(char: string): string | undefined {
	return LATIN_OF.get(char);
}
