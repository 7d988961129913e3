// A long plain-text part, kept as the pieces it was decoded in.
//
// Decoding a 10 MB text part into one string took Firefox 110-240 ms and
// Chromium ~30 ms: Firefox decodes to two bytes per character first and
// then copies, so one call touches ~40 MB of fresh memory. The same bytes
// decoded in pieces of 32 KB by one streaming TextDecoder take it a few
// milliseconds, and joining the pieces again costs as much as the one call
// saved. So a long text part stays in pieces: postal-mime (patched at build
// time, see text-pieces.mjs) hands one LongText on as the message's text,
// and render.js lays each piece out as a block of its own. Whoever needs
// the text as one string (the quote under a reply) gets it from
// toString(), which joins the pieces.

// LONG_TEXT_BYTES: a plain-text part longer than this is decoded in pieces;
// render.js shows text longer than 256 KB in blocks anyway.
export const LONG_TEXT_BYTES = 256 * 1024;
// PIECE_BYTES: each piece is at least this long and ends at a line end.
export const PIECE_BYTES = 32 * 1024;

export class LongText {
  constructor(pieces) {
    this.pieces = pieces;
    this.length = pieces.reduce((n, p) => n + p.length, 0);
  }

  toString() {
    return this.pieces.join('');
  }
}

// decodeLong decodes bytes (an ArrayBuffer or a view) as decoder does, in
// pieces that end at a line feed byte. A streaming decoder of the same
// encoding and options carries any character or state that spans two
// pieces, so the pieces joined are exactly decoder.decode(bytes).
export function decodeLong(decoder, bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const d = new TextDecoder(decoder.encoding, { fatal: decoder.fatal, ignoreBOM: decoder.ignoreBOM });
  const pieces = [];
  for (let i = 0; i < b.length; ) {
    const nl = b.indexOf(0x0a, i + PIECE_BYTES);
    const end = nl < 0 ? b.length : nl + 1;
    const s = d.decode(b.subarray(i, end), { stream: end < b.length });
    if (s) pieces.push(s);
    i = end;
  }
  return new LongText(pieces);
}

// textOf is the text of a plain-text part (a postal-mime MimeNode) as
// postal-mime's getTextContent makes it, as a LongText when the part is
// long; getDecoder is postal-mime's, which picks the decoder for a charset.
export function textOf(node, getDecoder) {
  const params = node.contentType.parsed.params;
  if (!node.content || node.content.byteLength <= LONG_TEXT_BYTES || /^flowed$/i.test(params.format)) {
    return node.getTextContent();
  }
  return decodeLong(getDecoder(params.charset), node.content);
}
