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
//
// Lines of a part's body that the loop would feed one by one to a decoder
// that can take them at once (updateRun: the pass-through decoder of
// 7bit, 8bit and binary parts) go to it as one run: every line from the
// current one up to the next that starts with "--" while boundaries are
// open (it may be one), or up to the message's last line, which finishes
// the message. A 10 MB text part was ~130,000 lines, each made into a view
// and fed on its own, ~70 ms of Firefox's open; a run is one call, and the
// decoder drops each line's trailing CRs itself (src/pass-through-decoder.js).

const loop = `            const line = this.readLine();
            await this.processLine(line.bytes, line.done);`;

const fast = `            const node = this.currentNode;
            const run = node.state === 'body' && node.contentDecoder && node.contentDecoder.updateRun ? this.postsealRunEnd() : this.readPos;
            if (run > this.readPos) {
                node.contentDecoder.updateRun(this.av.subarray(this.readPos, run));
                this.readPos = run;
                continue;
            }
            const line = this.readLine();
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

const fastReadLine = `    postsealRunEnd() {
        const av = this.av;
        // Found once per parse: each line starting with "--" asks again.
        const last = this.postsealLast ??= av.lastIndexOf(0x0a, av.length - 2) + 1;
        if (!this.boundaries.length) {
            return Math.max(last, this.readPos);
        }
        let p = this.readPos;
        while (p < last && !(av[p] === 0x2d && av[p + 1] === 0x2d)) {
            p = av.indexOf(0x0a, p) + 1;
        }
        return p;
    }
    readLine() {
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

// The pass-through decoder may give a part's content as a view of the
// message buffer (see its compactInPlace): an attachment gets a copy in an
// ArrayBuffer of its own, as postal-mime's own decoder gives.
const attach = `                attachment.content = content;`;
const attachCopy = `                attachment.content = ArrayBuffer.isView(content) ? content.slice().buffer : content;`;

// patchParseLoop rewrites the loop, readLine and the attachment's content
// in src, postal-mime's dist/esm/postal-mime.js read from path; a
// postal-mime where any reads otherwise fails the build.
export function patchParseLoop(src, path) {
  for (const [from, what] of [[loop, 'parse loop'], [readLine, 'readLine'], [attach, 'attachment content']]) {
    if (src.split(from).length !== 2) throw new Error(`${path}: expected postal-mime's ${what} once (postal-mime changed?)`);
  }
  return src.replace(loop, fast).replace(readLine, fastReadLine).replace(attach, attachCopy);
}
