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
// returns the position after it.
function copyRun(run, out, o) {
  if (run.indexOf(0x0d) < 0) {
    out.set(run, o);
    return o + run.length;
  }
  const n = run.length;
  for (let i = 0; i < n; i++) {
    const c = run[i];
    if (c === 0x0d) {
      let j = i + 1;
      while (j < n && run[j] === 0x0d) j++;
      if (run[j] === 0x0a) {
        i = j - 1; // the line feed comes next
        continue;
      }
    }
    out[o++] = c;
  }
  return o;
}
