// A drop-in for postal-mime's PassThroughDecoder (the build substitutes it
// for postal-mime/dist/esm/pass-through-decoder.js), same results, made for
// large parts. postal-mime hands the decoder one line at a time; the
// original keeps each line and a "\n" string as separate parts of one Blob
// and reads the Blob back, which for a 10 MB text part is ~260,000 Blob
// parts and was most of the time to open such a message (seconds in
// Chromium, several times that in Firefox). This one copies the lines into
// one buffer. The build's parse loop (parse-loop.mjs) also hands it whole
// runs of lines at once (updateRun). web/test/pass-through-decoder.test.mjs
// checks it against the original.

export default class PassThroughDecoder {
  constructor() {
    this.parts = [];
    this.size = 0;
  }

  // update takes one line, without its line end.
  update(line) {
    // The view points into the message buffer, which outlives the parse.
    this.parts.push(line);
    this.size += line.length + 1;
  }

  // updateRun takes consecutive lines of the message as they are there,
  // each with its line end (run ends just after a line feed): the same as
  // update for each line with its trailing CRs dropped. Their size is
  // counted now, the bytes copied at finalize.
  updateRun(run) {
    this.parts.push(new Run(run));
    this.size += run.length - droppedCRs(run);
  }

  finalize() {
    const content = this.compactInPlace();
    if (content) {
      this.parts = [];
      return Promise.resolve(content);
    }
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      if (p instanceof Run) {
        o = copyRun(p.bytes, out, o);
      } else {
        out.set(p, o);
        o += p.length;
        out[o++] = 0x0a;
      }
    }
    this.parts = [];
    return Promise.resolve(out.buffer);
  }

  // compactInPlace: when the part's lines lie in one stretch of the
  // message buffer — a run, then lines right after it, each followed there
  // by its line end — they are rewritten where they are, without the CRs
  // that end them, and the content is a view of that (a Uint8Array, where
  // postal-mime's own decoder gives an ArrayBuffer: the build makes
  // postal-mime copy it into one for an attachment). A 10 MB part then
  // takes no 10 MB of fresh memory, which Chromium and Firefox spent 30-50
  // ms filling (their page faults). Nothing reads those bytes of the
  // message buffer again: the parse is past them, and the buffer is
  // postal-mime's copy of its input or the decrypted bytes main.js hands
  // over. Null when the lines are not one stretch.
  compactInPlace() {
    const first = this.parts[0];
    if (!(first instanceof Run)) return null;
    const buf = first.bytes.buffer;
    const av = new Uint8Array(buf);
    const start = first.bytes.byteOffset;
    let pos = start;
    for (const p of this.parts) {
      const v = p instanceof Run ? p.bytes : p;
      if (v.buffer !== buf || v.byteOffset !== pos) return null;
      pos += v.length;
      if (!(p instanceof Run)) {
        // The "\n" written after a line needs its line end's room.
        while (pos < av.length && av[pos] === 0x0d) pos++;
        if (av[pos] !== 0x0a) return null;
        pos++;
      }
    }
    let o = start;
    for (const p of this.parts) {
      if (p instanceof Run) {
        o = copyRun(p.bytes, av, o);
      } else {
        av.copyWithin(o, p.byteOffset, p.byteOffset + p.length);
        o += p.length;
        av[o++] = 0x0a;
      }
    }
    return new Uint8Array(buf, start, o - start);
  }
}

class Run {
  constructor(bytes) {
    this.bytes = bytes;
  }
}

// droppedCRs counts the CRs of run that end a line (those just before a
// line feed, with the CRs before them): the ones a line loses.
function droppedCRs(run) {
  let n = 0;
  for (let i = run.indexOf(0x0d); i >= 0; ) {
    let j = i + 1;
    while (j < run.length && run[j] === 0x0d) j++;
    if (run[j] === 0x0a) n += j - i;
    i = run.indexOf(0x0d, j);
  }
  return n;
}

// copyRun writes run into out at o without the CRs that end its lines, and
// returns the position after it. out may be run's own buffer with o at or
// before run: each byte is written no later than it is read.
function copyRun(run, out, o) {
  if (run.indexOf(0x0d) < 0) {
    if (run.buffer === out.buffer) {
      // set would first copy the source (the same buffer) aside.
      out.copyWithin(o, run.byteOffset, run.byteOffset + run.length);
    } else {
      out.set(run, o);
    }
    return o + run.length;
  }
  const n = run.length;
  for (let i = 0; i < n; i++) {
    const c = run[i];
    if (c === 0x0d) {
      // The whole run of CRs at once, dropped or kept: looking for its end
      // from each of its CRs made a long run quadratic.
      let j = i + 1;
      while (j < n && run[j] === 0x0d) j++;
      if (run[j] !== 0x0a) {
        for (; i < j; i++) out[o++] = 0x0d;
      }
      i = j - 1; // what ends the run comes next
      continue;
    }
    out[o++] = c;
  }
  return o;
}
