// postal-mime's parse loop awaits processLine for every line of the
// message, though processLine only feeds the line to the current part
// (synchronously) unless the line may be a boundary or is the last: a
// 10 MB text part is ~130,000 awaits, each a trip through the microtask
// queue, which costs Firefox much more than Chromium. build.mjs rewrites
// the loop to feed such lines itself and await processLine for the others:
// the same steps in the same order (test/parse-loop.test.mjs compares the
// parse results of both).
//
// Its readLine also looks at every byte of the message in JavaScript to
// find the line ends; the rewrite finds each with the typed array's own
// indexOf (a native scan) and then drops the line's trailing CRs, which
// gives the same line: the original's end is just past the last byte that
// is neither CR nor LF, and a line holds no LF before its end.

const loop = `            const line = this.readLine();
            await this.processLine(line.bytes, line.done);`;

const fast = `            const line = this.readLine();
            const b = line.bytes;
            if (line.done || (this.boundaries.length && b.length > 2 && b[0] === 0x2d && b[1] === 0x2d)) {
                await this.processLine(b, line.done);
            } else {
                this.currentNode.feed(b);
            }`;

const readLine = `    readLine() {
        let startPos = this.readPos;
        let endPos = this.readPos;
        while (this.readPos < this.av.length) {
            const c = this.av[this.readPos++];
            if (c !== 0x0d && c !== 0x0a) {
                endPos = this.readPos;
            }
            if (c === 0x0a) {
                return {
                    bytes: new Uint8Array(this.buf, startPos, endPos - startPos),
                    done: this.readPos >= this.av.length
                };
            }
        }
        return {
            bytes: new Uint8Array(this.buf, startPos, endPos - startPos),
            done: this.readPos >= this.av.length
        };
    }`;

const fastReadLine = `    readLine() {
        const av = this.av;
        const startPos = this.readPos;
        const nl = av.indexOf(0x0a, startPos);
        let endPos = nl < 0 ? av.length : nl;
        this.readPos = nl < 0 ? av.length : nl + 1;
        while (endPos > startPos && av[endPos - 1] === 0x0d) {
            endPos--;
        }
        return {
            bytes: new Uint8Array(this.buf, startPos, endPos - startPos),
            done: this.readPos >= av.length
        };
    }`;

// patchParseLoop rewrites the loop and readLine in src, postal-mime's
// dist/esm/postal-mime.js read from path; a postal-mime where either reads
// otherwise fails the build.
export function patchParseLoop(src, path) {
  for (const [from, what] of [[loop, 'parse loop'], [readLine, 'readLine']]) {
    if (src.split(from).length !== 2) throw new Error(`${path}: expected postal-mime's ${what} once (postal-mime changed?)`);
  }
  return src.replace(loop, fast).replace(readLine, fastReadLine);
}
