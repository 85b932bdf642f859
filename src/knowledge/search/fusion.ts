// How every engine turns a semantic and a keyword signal into one score: a probabilistic OR,
// score = 1 − (1 − cosine⁺)(1 − keyword). It stays in [0, 1], equals either signal alone when the other is zero,
// and ranks a chunk matching both above one matching either as well. Thresholds downstream ("does the knowledge
// cover this question?") rely on this one scale, whichever engine runs.

/** `cosine` is clamped to [0, 1] (opposite meaning is no evidence); `keyword` must already be in [0, 1]. */
export function fuse(cosine: number, keyword: number): number {
  const semantic = cosine > 0 ? (cosine < 1 ? cosine : 1) : 0;
  return 1 - (1 - semantic) * (1 - keyword);
}
