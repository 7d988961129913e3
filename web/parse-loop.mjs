// postal-mime's parse loop awaits processLine for every line of the
// message, though processLine only feeds the line to the current part
// (synchronously) unless the line may be a boundary or is the last: a
// 10 MB text part is ~130,000 awaits, each a trip through the microtask
// queue, which costs Firefox much more than Chromium. build.mjs rewrites
// the loop to feed such lines itself and await processLine for the others:
// the same steps in the same order (test/parse-loop.test.mjs compares the
// parse results of both).

const loop = `            const line = this.readLine();
            await this.processLine(line.bytes, line.done);`;

const fast = `            const line = this.readLine();
            const b = line.bytes;
            if (line.done || (this.boundaries.length && b.length > 2 && b[0] === 0x2d && b[1] === 0x2d)) {
                await this.processLine(b, line.done);
            } else {
                this.currentNode.feed(b);
            }`;

// patchParseLoop rewrites the loop in src, postal-mime's dist/esm/postal-mime.js
// read from path; a postal-mime whose loop reads otherwise fails the build.
export function patchParseLoop(src, path) {
  if (src.split(loop).length !== 2) throw new Error(`${path}: expected postal-mime's parse loop once (postal-mime changed?)`);
  return src.replace(loop, fast);
}
