// A drop-in for postal-mime's PassThroughDecoder (the build substitutes it
// for postal-mime/dist/esm/pass-through-decoder.js), same results, made for
// large parts. postal-mime hands the decoder one line at a time; the
// original keeps each line and a "\n" string as separate parts of one Blob
// and reads the Blob back, which for a 10 MB text part is ~260,000 Blob
// parts and was most of the time to open such a message (seconds in
// Chromium, several times that in Firefox). This one copies the lines into
// one buffer. web/test/pass-through-decoder.test.mjs checks it against the
// original.

export default class PassThroughDecoder {
  constructor() {
    this.lines = [];
    this.size = 0;
  }

  update(line) {
    // The view points into the message buffer, which outlives the parse.
    this.lines.push(line);
    this.size += line.length + 1;
  }

  finalize() {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const l of this.lines) {
      out.set(l, o);
      o += l.length;
      out[o++] = 0x0a;
    }
    this.lines = [];
    return Promise.resolve(out.buffer);
  }
}
