// OpenPGP.js copies a message's data more often than opening it needs:
// for a 10 MB text sealed with the rfc4880 profile (SEIPD v1 holding a
// ZIP-compressed literal packet, both with 64 KiB partial bodies) it joins
// the decrypted payload with the empty chunk that stands for the checked
// MDC (2.6 MB), joins the compressed packet's bodies before feeding them to
// DecompressionStream (2.6 MB), and joins the decompressed chunks (10 MB)
// only to cut the literal packet's bodies out of them and join those again
// (10 MB). A fresh buffer costs ~2.5-3 ms a MB in Chromium and Firefox
// alike (mostly the first touch of new memory; inflating costs ~5 ms a MB
// of output), so build.mjs rewrites the three joins:
//  - SEIPD v1: the decrypted packets are joined without the empty chunk
//    (still only once the MDC has been checked: the join waits for that
//    chunk's stream, which fails if the MDC does not match);
//  - ZIP/ZLIB: the compressed packet's bodies go to the decompressor as
//    they are (it takes a stream of chunks anyway), a body of 64 KiB or
//    more uncopied (the sealer's are 64 KiB), shorter ones joined into
//    pieces of at least 64 KiB: a chunk costs the decompressor's stream
//    far more than its bytes, and a crafted message in one-byte bodies
//    opened up to 9 times slower than OpenPGP.js itself;
//  - the decompressed chunks stay chunks (an ArrayStream, the form the
//    packet reader is given them in anyway) for the packets in them to be
//    read from, so the literal data is joined once.
// The same packets are read in the same order with the same checks;
// test/openpgp-copies.test.mjs compares the results (and errors) of both.

const rewrites = [
  {
    what: "SEIPD v1's join of the decrypted packets",
    from: `            else {
                packetbytes = await readToEnd(packetbytes);
            }`,
    to: `            else {
                packetbytes = await readToEnd(packetbytes, (chunks) => concat(chunks.filter((chunk) => chunk.length)));
            }`,
  },
  {
    what: "the decompressor's join of its input",
    from: `                        controller.enqueue(await readToEnd(data));
                        controller.close();`,
    to: `                        let run = [];
                        let size = 0;
                        for (const chunk of await readToEnd(data, (chunks) => chunks)) {
                            run.push(chunk);
                            size += chunk.length;
                            if (size >= 65536) {
                                controller.enqueue(concat(run));
                                run = [];
                                size = 0;
                            }
                        }
                        if (run.length) {
                            controller.enqueue(concat(run));
                        }
                        controller.close();`,
  },
  {
    what: 'the join of the decompressed data',
    from: `        if (!isStream(this.compressed) || isArrayStream(this.compressed)) {
            decompressed = await readToEnd(decompressed);
        }`,
    to: `        if (!isStream(this.compressed) || isArrayStream(this.compressed)) {
            decompressed = await readToEnd(decompressed, (chunks) => {
                const stream = new ArrayStream();
                for (const chunk of chunks) {
                    stream.push(chunk);
                }
                stream[doneWritingResolve]();
                return stream;
            });
        }`,
  },
];

// patchOpenPGP rewrites the joins in src, OpenPGP.js's
// dist/lightweight/openpgp.mjs read from path; an OpenPGP.js where any of
// them reads otherwise fails the build.
export function patchOpenPGP(src, path) {
  for (const { what, from } of rewrites) {
    if (src.split(from).length !== 2) throw new Error(`${path}: expected OpenPGP.js's ${what} once (OpenPGP.js changed?)`);
  }
  for (const { from, to } of rewrites) src = src.replace(from, () => to);
  return src;
}
