// Cuts extracted text into passages for retrieval: about 500–800 characters, ending on a paragraph or
// sentence boundary, each starting with the last sentence of the one before (overlap), so an answer that
// straddles a cut is still found whole in one passage.

export const CHUNK_TARGET = 650;
export const CHUNK_MAX = 800;
/** Overlap carried into the next passage: the previous passage's last sentence, when it is at most this long. */
const OVERLAP_MAX = 200;

export function chunkText(text: string): string[] {
  const units = paragraphs(text).flatMap((p) => (p.length <= CHUNK_MAX ? [p] : sentences(p).flatMap(hardSplit)));
  const chunks: string[] = [];
  let current: string[] = [];
  let length = 0;
  const flush = () => {
    if (!current.length) return;
    chunks.push(current.join(" ").trim());
    const last = current[current.length - 1]!;
    const tail = lastSentence(last);
    current = tail && tail.length <= OVERLAP_MAX && !(current.length === 1 && tail === last) ? [tail] : [];
    length = current.reduce((n, u) => n + u.length + 1, 0);
  };
  for (const unit of units) {
    if (length + unit.length > CHUNK_MAX || (length >= CHUNK_TARGET && current.length)) flush();
    current.push(unit);
    length += unit.length + 1;
  }
  if (current.length) flush();
  return chunks;
}

/** Paragraphs: blank-line separated blocks, with their inner line breaks folded to spaces. */
function paragraphs(text: string): string[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

const SENTENCE = /[^.!?。！？]+(?:[.!?。！？]+["')\]]*|$)\s*/g;

function sentences(paragraph: string): string[] {
  return (paragraph.match(SENTENCE) ?? [paragraph]).map((s) => s.trim()).filter(Boolean);
}

function lastSentence(text: string): string | undefined {
  return sentences(text).pop();
}

/** A sentence longer than a passage is cut between words. */
function hardSplit(sentence: string): string[] {
  if (sentence.length <= CHUNK_MAX) return [sentence];
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > CHUNK_MAX) {
    const cut = rest.lastIndexOf(" ", CHUNK_TARGET);
    const at = cut > CHUNK_TARGET / 2 ? cut : CHUNK_TARGET;
    parts.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}
