/**
 * Intl.Segmenter over long strings in bounded windows.
 *
 * NOTE: V8's segment iterator slows down quadratically with the length of the
 * string it walks (100k characters of sentences take ~10x as long as 25k
 * twice over; a megabyte of word segmentation takes minutes). Segmenting
 * windows of a few thousand characters keeps the whole pass linear. Each
 * window's last segment may be cut short by the window, so it is dropped and
 * the next window starts at it; results are therefore the same as one pass,
 * except that a segment longer than a whole window is cut at whitespace.
 */

export interface SegmentSpan {
  start: number;
  end: number;
  isWordLike: boolean;
}

export const defaultSegmentWindow = 16_384;

export function* segmentSpans(
  segmenter: Intl.Segmenter,
  text: string,
  from = 0,
  to = text.length,
  window = defaultSegmentWindow,
): Generator<SegmentSpan> {
  let position = from;
  while (position < to) {
    const limit = Math.min(to, position + window);
    const slice = text.slice(position, limit);
    let previous: Intl.SegmentData | undefined;
    for (const segment of segmenter.segment(slice)) {
      if (previous) yield span(position, previous);
      previous = segment;
    }
    if (!previous) return;
    if (limit === to) {
      yield span(position, previous);
      return;
    }
    if (previous.index > 0) {
      position += previous.index;
      continue;
    }
    // One segment fills the whole window: cut it at its last whitespace.
    let cut = slice.length;
    for (let i = slice.length - 1; i > 0; i--) {
      if (/\s/.test(slice[i]!)) {
        cut = i;
        break;
      }
    }
    if (cut === slice.length && isHighSurrogate(slice.charCodeAt(cut - 1))) cut--;
    yield { start: position, end: position + cut, isWordLike: previous.isWordLike === true };
    position += cut;
  }
}

function span(offset: number, segment: Intl.SegmentData): SegmentSpan {
  return {
    start: offset + segment.index,
    end: offset + segment.index + segment.segment.length,
    isWordLike: segment.isWordLike === true,
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
